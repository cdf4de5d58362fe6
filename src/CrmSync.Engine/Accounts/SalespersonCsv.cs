using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CsvHelper;

namespace CrmSync.Accounts;

/// <summary>One row of the Microsoft 365 "Import multiple users" CSV (or of Import-Csv), with its row number.</summary>
public sealed record SalespersonRow(int RowNumber, IReadOnlyDictionary<string, string?> Values)
{
    public string? this[string column] => Values.TryGetValue(column, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}

/// <summary>A written import template: where, its columns and how many example rows.</summary>
public sealed record SalespersonTemplate(string Path, IReadOnlyList<string> Columns, int ExampleRows);

/// <summary>A row that cannot be imported: the row, the column and the fix.</summary>
public sealed class SalespersonRowException(int rowNumber, string column, string problem, string fix)
    : CrmSyncException("SalespersonRowInvalid", CrmSyncErrorKind.InvalidData, $"Row {rowNumber}, column '{column}': {problem} {fix}", rowNumber)
{
    public int RowNumber { get; } = rowNumber;

    public string Column { get; } = column;
}

/// <summary>
/// The Microsoft 365 admin center "Import multiple users" CSV (docs/reference/integration.md §F.6): the 16 headers in
/// order, reading it and writing the template with CsvHelper.
/// </summary>
public static partial class SalespersonCsv
{
    public const string UserName = "User Name";
    public const string FirstName = "First Name";
    public const string LastName = "Last Name";
    public const string DisplayName = "Display Name";
    public const string JobTitle = "Job Title";
    public const string Department = "Department";
    public const string OfficeNumber = "Office Number";
    public const string OfficePhone = "Office Phone";
    public const string MobilePhone = "Mobile Phone";
    public const string Fax = "Fax";
    public const string AlternateEmail = "Alternate email address";
    public const string Address = "Address";
    public const string City = "City";
    public const string State = "State or Province";
    public const string PostalCode = "ZIP or Postal Code";
    public const string Country = "Country or Region";

    /// <summary>Columns CrmSync also reads (the template has no usage location, §F.6).</summary>
    public const string UsageLocationColumn = "Usage Location";
    public const string SalespersonCodeColumn = "Salesperson Code";

    // Microsoft Graph's limits for the user properties these columns become (user resource type).
    private static readonly Dictionary<string, int> MaxLengths = new(StringComparer.Ordinal)
    {
        [UserName] = 113, [FirstName] = 64, [LastName] = 64, [DisplayName] = 256, [JobTitle] = 128, [Department] = 64, [OfficeNumber] = 128,
        [OfficePhone] = 64, [MobilePhone] = 64, [Fax] = 64, [AlternateEmail] = 256, [Address] = 1024, [City] = 128, [State] = 128, [PostalCode] = 40,
        [Country] = 128, [UsageLocationColumn] = 2, [SalespersonCodeColumn] = 20,
    };

    /// <summary>
    /// What is wrong with one cell whatever the row says, or null: control characters, a spreadsheet formula (a cell
    /// starting with = or @, which Excel would run when the file is opened again), or more than the property holds.
    /// Phone numbers may start with + or -; names with an apostrophe (O'Neil) are fine, they are escaped where used.
    /// </summary>
    public static (string Problem, string Fix)? CellProblem(string column, string value)
    {
        if (value.Any(c => char.IsControl(c)))
        {
            return ("contains a control character (a tab, a line break or another invisible character).", "Remove it; cells hold plain text.");
        }

        if (value.TrimStart()[0] is '=' or '@')
        {
            return ($"starts with '{value.TrimStart()[0]}', which a spreadsheet runs as a formula.", "Remove the formula and enter the value itself.");
        }

        return MaxLengths.TryGetValue(column, out var max) && value.Trim().Length > max
            ? ($"is {value.Trim().Length} characters long; Microsoft Entra ID allows {max}.", "Shorten it.")
            : null;
    }

    public static IReadOnlyList<string> Headers { get; } = new[]
    {
        UserName, FirstName, LastName, DisplayName, JobTitle, Department, OfficeNumber, OfficePhone, MobilePhone, Fax, AlternateEmail, Address, City, State, PostalCode, Country,
    };

    // The admin center's "CSV file with headers and sample user information": its five sample users, as Microsoft's
    // "Add several users at the same time to Microsoft 365" article shows them.
    private static readonly string[][] ExampleRows =
    {
        Sample("chris", "Chris", "Green", 1),
        Sample("ben", "Ben", "Andrews", 2),
        Sample("david", "David", "Longmuir", 3),
        Sample("cynthia", "Cynthia", "Carey", 4),
        Sample("melissa", "Melissa", "MacBeth", 5),
    };

    private static string[] Sample(string alias, string first, string last, int n) => new[]
    {
        $"{alias}@contoso.com", first, last, $"{first} {last}", "IT Manager", "Information Technology", $"12345{n}", $"123-555-121{n}", $"123-555-664{n}",
        "123-555-6700", "chris@contoso.com", "1 Microsoft way", "Redmond", "Wa", "98052", "United States",
    };

    // Header spellings the admin center has used ("User Name", today "Username"; "First Name", today "First name"):
    // compared without case and spaces, each maps to the one column name CrmSync reads.
    private static readonly Dictionary<string, string> CanonicalHeaders = Headers.Concat(new[] { UsageLocationColumn, SalespersonCodeColumn })
        .ToDictionary(Normalize, h => h, StringComparer.Ordinal);

    private static string Normalize(string header) =>
        string.Concat(header.Trim().TrimStart('\uFEFF').Where(c => !char.IsWhiteSpace(c) && c is not '_' and not '-')).ToLowerInvariant();

    /// <summary>The column a header names: any of the admin center's spellings of a template column, else the header as written.</summary>
    public static string CanonicalHeader(string header) =>
        CanonicalHeaders.TryGetValue(Normalize(header), out var canonical) ? canonical : header.Trim().TrimStart('\uFEFF');

    public static string Template(bool includeExample)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, WriterOptions, leaveOpen: true))
        {
            csv.WriteRecord(Headers.ToArray());
            foreach (var row in includeExample ? ExampleRows : Array.Empty<string[]>())
            {
                csv.WriteRecord(row);
            }
        }

        return text.ToString();
    }

    /// <summary>Writes the template (UTF-8 with BOM, as the admin center's sample, so Excel keeps accents); an existing file needs <paramref name="overwrite"/>.</summary>
    public static SalespersonTemplate WriteTemplate(string path, bool includeExample, bool overwrite)
    {
        if (File.Exists(path) && !overwrite)
        {
            throw new CrmSyncException("TemplateFileExists", CrmSyncErrorKind.ResourceExists, $"'{path}' already exists. Choose another -Path or add -Force to overwrite it.", path);
        }

        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (folder is not null && !System.IO.Directory.Exists(folder))
        {
            throw new CrmSyncException("TemplateFolderNotFound", CrmSyncErrorKind.ObjectNotFound, $"The folder '{folder}' does not exist. Create it first or choose another -Path.", path);
        }

        try
        {
            File.WriteAllText(path, Template(includeExample), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CrmSyncException("TemplateNotWritten", CrmSyncErrorKind.InvalidArgument,
                $"The template cannot be written to '{path}': {ex.Message} Give -Path a file name in a folder you can write to, e.g. ./salespeople.csv.", path, ex);
        }

        return new SalespersonTemplate(System.IO.Path.GetFullPath(path), Headers, includeExample ? ExampleRows.Length : 0);
    }

    /// <summary>A row from the pipeline (Import-Csv): its property names are the column names; blank values count as missing.</summary>
    public static SalespersonRow FromProperties(int rowNumber, IEnumerable<KeyValuePair<string, string?>> properties) =>
        new(rowNumber, properties.ToDictionary(p => CanonicalHeader(p.Key), p => p.Value, StringComparer.OrdinalIgnoreCase));

    /// <summary>Rows whose salesperson code sits in another column: copies it into 'Salesperson Code'.</summary>
    public static IReadOnlyList<SalespersonRow> WithCodeColumn(IReadOnlyList<SalespersonRow> rows, string codeColumn) =>
        string.Equals(codeColumn, SalespersonCodeColumn, StringComparison.OrdinalIgnoreCase)
            ? rows
            : rows.Select(r => r with
            {
                Values = new Dictionary<string, string?>(r.Values, StringComparer.OrdinalIgnoreCase) { [SalespersonCodeColumn] = r[codeColumn] },
            }).ToList();

    public static IReadOnlyList<SalespersonRow> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CrmSyncException("CsvNotFound", CrmSyncErrorKind.ObjectNotFound, $"The file '{path}' does not exist. New-SalespersonImportTemplate writes a template.", path);
        }

        var records = Parse(File.ReadAllText(path, Encoding.UTF8));
        if (records.Count == 0)
        {
            throw new CrmSyncException("CsvEmpty", CrmSyncErrorKind.InvalidData, $"'{path}' is empty: it needs the header line of the Microsoft 365 template.", path);
        }

        var header = records[0].Select(CanonicalHeader).ToList();
        if (!header.Contains(UserName, StringComparer.OrdinalIgnoreCase) || !header.Contains(DisplayName, StringComparer.OrdinalIgnoreCase))
        {
            throw new CrmSyncException("CsvHeaderInvalid", CrmSyncErrorKind.InvalidData,
                $"'{path}' is not the Microsoft 365 \"Import multiple users\" CSV: it has no '{UserName}' and '{DisplayName}' columns. " +
                $"Its header is: {string.Join(", ", records[0].Select(h => h.Trim().TrimStart('\uFEFF')))}. Expected (User Name and Display Name required, " +
                $"any case or spacing): {string.Join(", ", Headers)}. New-SalespersonImportTemplate writes the template.", path);
        }

        var rows = new List<SalespersonRow>();
        for (var i = 1; i < records.Count; i++)
        {
            if (records[i].All(string.IsNullOrWhiteSpace))
            {
                continue;
            }

            var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            for (var c = 0; c < header.Count; c++)
            {
                values[header[c]] = c < records[i].Length ? records[i][c] : null;
            }

            rows.Add(new SalespersonRow(i + 1, values));
        }

        return rows;
    }

    // RFC 4180 with CsvHelper: quoted fields may hold separators, doubled quotes and line breaks; a BOM is skipped. The
    // separator is detected, because Excel saves "CSV" with the region's list separator (';' in much of Europe).
    private static readonly CsvReaderOptions ReaderOptions = new()
    {
        Separator = null,
        HasHeader = false,
        Mode = CsvMode.Rfc4180,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = false, // row numbers count blank lines, as the admin sees them in the file
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
    };

    // What CrmSync writes: CRLF lines as the admin center's sample, quoted where needed, and no cell that starts a
    // formula (= + - @ get a leading apostrophe, which spreadsheets show as text).
    private static readonly CsvWriterOptions WriterOptions = new()
    {
        Separator = ',',
        NewLine = "\r\n",
        Injection = CsvInjection.Escape,
    };

    /// <summary>Every record of CSV text, as written (row numbers are list positions + 1, blank lines included).</summary>
    internal static List<string[]> Parse(string text)
    {
        var records = new List<string[]>();
        try
        {
            using var csv = CsvReader.FromText(text, ReaderOptions);
            while (csv.Read())
            {
                records.Add(csv.Current.ToArray());
            }
        }
        catch (CsvFormatException ex)
        {
            // CsvHelper says what is wrong after "record N: " (a stray quote, a quoted field never closed).
            var detail = ex.Message[(ex.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..].Split(" (byte offset", 2)[0].TrimEnd('.');
            throw new CrmSyncException("CsvMalformed", CrmSyncErrorKind.InvalidData,
                $"Row {ex.RecordNumber}: {detail}. Put a field that holds a quote, a comma or a line break in quotes, and double each quote inside it (\"\"); or remove the quote.",
                ex.RecordNumber, ex);
        }

        return records;
    }

    /// <summary>One cell as CrmSync writes it.</summary>
    internal static string Cell(string value)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, WriterOptions, leaveOpen: true))
        {
            csv.WriteRecord(new[] { value });
        }

        return text.ToString()[..^WriterOptions.NewLine.Length];
    }

    [GeneratedRegex(@"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]
    internal static partial Regex UpnPattern();

    /// <summary>"United States" → "US": the CSV has country names, Graph needs ISO 3166 codes (§F.6).</summary>
    public static string? CountryCode(string? country)
    {
        if (string.IsNullOrWhiteSpace(country))
        {
            return null;
        }

        var name = country.Trim();
        if (name.Length == 2 && name.All(char.IsAsciiLetter))
        {
            return name.ToUpperInvariant();
        }

        if (Countries.TryGetValue(name, out var known))
        {
            return known;
        }

        try
        {
            foreach (var culture in CultureInfo.GetCultures(CultureTypes.SpecificCultures))
            {
                var region = new RegionInfo(culture.Name);
                if (string.Equals(region.EnglishName, name, StringComparison.OrdinalIgnoreCase) || string.Equals(region.NativeName, name, StringComparison.OrdinalIgnoreCase))
                {
                    return region.TwoLetterISORegionName;
                }
            }
        }
        catch (ArgumentException)
        {
        }

        return null;
    }

    private static readonly Dictionary<string, string> Countries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["United States"] = "US", ["United States of America"] = "US", ["USA"] = "US", ["Canada"] = "CA", ["Mexico"] = "MX", ["United Kingdom"] = "GB",
        ["Great Britain"] = "GB", ["Ireland"] = "IE", ["Germany"] = "DE", ["France"] = "FR", ["Spain"] = "ES", ["Italy"] = "IT", ["Portugal"] = "PT",
        ["Netherlands"] = "NL", ["Belgium"] = "BE", ["Luxembourg"] = "LU", ["Switzerland"] = "CH", ["Austria"] = "AT", ["Denmark"] = "DK", ["Norway"] = "NO",
        ["Sweden"] = "SE", ["Finland"] = "FI", ["Iceland"] = "IS", ["Poland"] = "PL", ["Czech Republic"] = "CZ", ["Czechia"] = "CZ", ["Slovakia"] = "SK",
        ["Hungary"] = "HU", ["Romania"] = "RO", ["Bulgaria"] = "BG", ["Greece"] = "GR", ["Turkey"] = "TR", ["Estonia"] = "EE", ["Latvia"] = "LV",
        ["Lithuania"] = "LT", ["Slovenia"] = "SI", ["Croatia"] = "HR", ["Serbia"] = "RS", ["Ukraine"] = "UA", ["Australia"] = "AU", ["New Zealand"] = "NZ",
        ["Japan"] = "JP", ["China"] = "CN", ["India"] = "IN", ["Singapore"] = "SG", ["South Africa"] = "ZA", ["Brazil"] = "BR", ["Argentina"] = "AR",
        ["Chile"] = "CL", ["Colombia"] = "CO", ["Peru"] = "PE", ["Israel"] = "IL", ["United Arab Emirates"] = "AE", ["Saudi Arabia"] = "SA",
        ["South Korea"] = "KR", ["Korea"] = "KR", ["Taiwan"] = "TW", ["Hong Kong"] = "HK", ["Malaysia"] = "MY", ["Thailand"] = "TH", ["Philippines"] = "PH",
        ["Indonesia"] = "ID", ["Vietnam"] = "VN", ["Egypt"] = "EG", ["Nigeria"] = "NG", ["Kenya"] = "KE", ["Morocco"] = "MA",
    };
}
