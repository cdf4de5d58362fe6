using System.Globalization;

namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>Creating, updating and deleting entities: defaults, option values and table relations checked as BC's tables check them, currency codes kept in step, If-Match against ETags.</summary>
public sealed partial class BcService
{
    // ---- Writes ---------------------------------------------------------------------------------

    private ServiceResponse Create(ServiceRequest request, Guid companyId, EntityTable table, string context)
    {
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        var row = Write(companyId, table, null, body, request.Caller);
        return Single(request, companyId, table, row, context + "/$entity", 201).With("Location", $"{request.ServiceRoot}{context}({IdOf(row, table.Schema)})");
    }

    private ServiceResponse Update(ServiceRequest request, Guid companyId, EntityTable table, Row existing, string context)
    {
        CheckIfMatch(request, existing);
        var body = request.ReadJsonObject(message => new ServiceException(400, "BadRequest_InvalidRequestBody", message));
        var row = Write(companyId, table, existing, body, request.Caller);
        return Single(request, companyId, table, row, context + "/$entity", 200);
    }

    private ServiceResponse Delete(ServiceRequest request, EntityTable table, Row existing)
    {
        CheckIfMatch(request, existing);
        table.Remove(IdOf(existing, table.Schema));
        return ServiceResponse.Empty(204, 1);
    }

    // PATCH and DELETE require If-Match (§E.3).
    private static void CheckIfMatch(ServiceRequest request, Row existing)
    {
        var ifMatch = request.Header("If-Match");
        if (string.IsNullOrEmpty(ifMatch))
        {
            throw new ServiceException(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request (If-Match: <@odata.etag> or *).");
        }

        if (ifMatch != "*" && ifMatch != ETag(existing))
        {
            throw new ServiceException(412, "Request_EntityChanged", "Another user has already changed the record.");
        }
    }

    /// <summary>Applies a JSON body with BC's validation: field lengths, table relations, number series, customer/vendor contacts.</summary>
    internal Row Write(Guid companyId, EntityTable table, Row? existing, JsonElement body, SandboxIdentity caller)
    {
        var schema = table.Schema;
        var values = existing is null ? Defaults(schema) : (object?[])existing.Values.Clone();
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name.StartsWith('@'))
            {
                continue;
            }

            var column = schema.Find(property.Name);
            if (column is null || column.WriteOnly)
            {
                throw new ServiceException(400, "BadRequest_PropertyNotFound", UnknownProperty(schema, property.Name) + " Make sure to only use property names that are defined by the type.");
            }

            if (column.Name == schema.Key)
            {
                if (existing is not null && property.Value.ValueKind == JsonValueKind.String && Guid.TryParse(property.Value.GetString(), out var bodyId) && bodyId != IdOf(existing, schema))
                {
                    throw new ServiceException(400, "BadRequest", "The id of an existing record cannot be changed.");
                }

                continue;
            }

            if (column.ReadOnly)
            {
                throw new ServiceException(400, "BadRequest", $"The property '{column.Name}' of {BcSchemas.Caption(schema)} is read-only.");
            }

            try
            {
                var value = JsonValues.Read(column, property.Value);
                values[schema.IndexOf(column.Name)] = value ?? DefaultOf(column);
            }
            catch (ColumnValueException ex)
            {
                throw new ServiceException(400, ex.TooLong ? "Application_StringExceededLength" : "BadRequest_InvalidRequestBody", ex.Message);
            }

            given.Add(column.Name);
        }

        ApplyRules(companyId, schema, values, given, existing);
        var id = existing is null ? Guid.NewGuid() : IdOf(existing, schema);
        values[schema.KeyIndex] = id;
        foreach (var required in schema.RequiredOnCreate)
        {
            if (values[schema.IndexOf(required)] is "" or null)
            {
                throw new ServiceException(400, "Application_FieldValidationException", $"{required} must have a value in {BcSchemas.Caption(schema)}: {required}=''. It cannot be zero or empty.");
            }
        }

        foreach (var unique in schema.UniqueColumns)
        {
            var index = schema.IndexOf(unique);
            if (table.FindUnique(index, values[index], id) is not null)
            {
                throw new ServiceException(400, "Internal_EntityWithSameKeyExists",
                    $"The record in table {BcSchemas.Caption(schema)} already exists. Identification fields and values: {unique}='{values[index]}'");
            }
        }

        values[schema.IndexOf("lastModifiedDateTime")] = JsonValues.Truncate(_clock.UtcNow, DateFormat.Milliseconds);
        var row = new Row(values, Store.NextVersion(), caller.ObjectId);
        table.Put(row);
        if (schema.IndexOf("number") is var numberColumn && numberColumn >= 0)
        {
            NoteNumber(companyId, schema, values[numberColumn] as string);
        }

        if (schema.EntitySet is BcSchemas.Customers or BcSchemas.Vendors)
        {
            UpdateCompanyContact(companyId, schema, row, caller);
        }

        return row;
    }

    private static object?[] Defaults(EntitySchema schema)
    {
        var values = new object?[schema.Columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = DefaultOf(schema.Columns[i]);
        }

        return values;
    }

    // BC returns empty strings, empty GUIDs and zeros rather than nulls.
    private static object? DefaultOf(Column column) => column.EnumMembers is { } members ? members[0] : column.Type switch
    {
        ColumnType.String => string.Empty,
        ColumnType.Guid => Guid.Empty,
        ColumnType.Decimal => 0m,
        ColumnType.Int => 0L,
        ColumnType.Bool => false,
        _ => null,
    };

    // An option is written as its encoded member name, the way BC returns it ("_x0020_" for blank, never " ").
    private static void CheckOptions(EntitySchema schema, object?[] values, string caption)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (schema.Columns[i].EnumMembers is { } members && values[i] is string value && !members.Contains(value, StringComparer.Ordinal))
            {
                throw new ServiceException(400, "BadRequest_InvalidRequestBody",
                    $"The value '{value}' is not valid for {schema.Columns[i].Name} of {caption}; use one of: {string.Join(", ", members.Select(m => $"'{m}'"))}.");
            }
        }
    }

    private void ApplyRules(Guid companyId, EntitySchema schema, object?[] values, HashSet<string> given, Row? existing)
    {
        var caption = BcSchemas.Caption(schema);
        string Str(string column) => (string)(values[schema.IndexOf(column)] ?? string.Empty);

        CheckOptions(schema, values, caption);
        if (schema.EntitySet is BcSchemas.Customers or BcSchemas.Vendors)
        {
            SyncCurrency(companyId, schema, values, given);
        }

        if (schema.EntitySet == BcSchemas.Customers)
        {
            var salesperson = Str("salespersonCode");
            if (salesperson.Length > 0 && !Exists(companyId, BcSchemas.Salespeople, "code", salesperson))
            {
                throw RelationError(caption, "Salesperson Code", salesperson, "Salesperson/Purchaser");
            }
        }

        var numberIndex = schema.IndexOf("number");
        if (numberIndex >= 0 && Str("number").Length == 0)
        {
            values[numberIndex] = NextNumber(companyId, schema);
        }

        if (schema.EntitySet == BcSchemas.Contacts)
        {
            var contacts = Table(companyId, BcSchemas.Contacts);
            if (Str("type") == "Company")
            {
                // A company contact is its own company.
                values[schema.IndexOf("companyNumber")] = Str("number");
                values[schema.IndexOf("companyName")] = Str("displayName");
            }
            else if (Str("companyNumber").Length > 0)
            {
                var company = contacts.FindUnique(schema.IndexOf("number"), Str("companyNumber"), except: null);
                if (company is null || (string?)company.Values[schema.IndexOf("type")] != "Company")
                {
                    throw RelationError(caption, "Company No.", Str("companyNumber"), "Contact (of type Company)");
                }

                values[schema.IndexOf("companyName")] = company.Values[schema.IndexOf("displayName")];
            }
            else
            {
                values[schema.IndexOf("companyName")] = string.Empty;
            }

            values[schema.IndexOf("searchName")] = Str("displayName").ToUpperInvariant();
        }
    }

    // currencyCode and currencyId are two views of "Currency Code": setting one sets the other.
    private void SyncCurrency(Guid companyId, EntitySchema schema, object?[] values, HashSet<string> given)
    {
        var currencies = Table(companyId, BcSchemas.Currencies);
        var codeIndex = schema.IndexOf("currencyCode");
        var idIndex = schema.IndexOf("currencyId");
        if (given.Contains("currencyCode"))
        {
            var code = (string)(values[codeIndex] ?? string.Empty);
            if (code.Length == 0)
            {
                values[idIndex] = Guid.Empty;
                return;
            }

            var currency = currencies.FindUnique(currencies.Schema.IndexOf("code"), code, except: null) ?? throw RelationError(BcSchemas.Caption(schema), "Currency Code", code, "Currency");
            values[codeIndex] = currency.Values[currencies.Schema.IndexOf("code")];
            values[idIndex] = currency.Values[currencies.Schema.KeyIndex];
        }
        else if (given.Contains("currencyId"))
        {
            var id = (Guid)(values[idIndex] ?? Guid.Empty);
            if (id == Guid.Empty)
            {
                values[codeIndex] = string.Empty;
                return;
            }

            var currency = currencies.Get(id) ?? throw RelationError(BcSchemas.Caption(schema), "Currency Id", id.ToString(), "Currency");
            values[codeIndex] = currency.Values[currencies.Schema.IndexOf("code")];
        }
    }

    private bool Exists(Guid companyId, string set, string column, string value)
    {
        var table = Table(companyId, set);
        return table.FindUnique(table.Schema.IndexOf(column), value, except: null) is not null;
    }

    private static ServiceException RelationError(string table, string field, string value, string related) =>
        new(400, "Application_FieldValidationException",
            $"The field {field} of table {table} contains a value ({value}) that cannot be found in the related table ({related}).");

    // The highest number issued per company table, so the No. Series stays O(1) at 100,000+ records.
    private readonly Dictionary<string, int> _numberHighWater = new(StringComparer.Ordinal);

    private static (string Prefix, int Digits, int Step) NumberSeries(EntitySchema schema) => schema.EntitySet switch
    {
        BcSchemas.Customers => ("C", 5, 10),
        BcSchemas.Vendors => ("V", 5, 10),
        _ => ("CT", 6, 1),
    };

    private string NextNumber(Guid companyId, EntitySchema schema)
    {
        var (prefix, digits, step) = NumberSeries(schema);
        var key = Key(companyId, schema.EntitySet);
        if (!_numberHighWater.TryGetValue(key, out var max))
        {
            var index = schema.IndexOf("number");
            max = Table(companyId, schema.EntitySet).Rows.Select(r => (string?)r.Values[index] ?? string.Empty)
                .Select(n => ParseNumber(n, prefix))
                .DefaultIfEmpty(0)
                .Max();
        }

        max += step;
        _numberHighWater[key] = max;
        return prefix + max.ToString("D" + digits, CultureInfo.InvariantCulture);
    }

    private void NoteNumber(Guid companyId, EntitySchema schema, string? number)
    {
        var key = Key(companyId, schema.EntitySet);
        var value = ParseNumber(number ?? string.Empty, NumberSeries(schema).Prefix);
        if (_numberHighWater.TryGetValue(key, out var max) && value > max)
        {
            _numberHighWater[key] = value;
        }
    }

    private static int ParseNumber(string number, string prefix) =>
        number.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(number.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>
    /// BC keeps a company contact for every customer and vendor, linked by a business relation, and
    /// updates it when the customer or vendor changes (this is what lets CONTACT find its parent).
    /// </summary>
    private void UpdateCompanyContact(Guid companyId, EntitySchema schema, Row row, SandboxIdentity caller)
    {
        var relations = Table(companyId, BcSchemas.ContactsInformation);
        var contacts = Table(companyId, BcSchemas.Contacts);
        var rs = relations.Schema;
        var cs = contacts.Schema;
        var id = IdOf(row, schema);
        var relation = relations.FindUnique(rs.IndexOf("relatedId"), id, except: null);
        var contact = relation is null ? null : contacts.Get((Guid)relation.Values[rs.IndexOf("contactId")]!);
        var values = contact is null ? Defaults(cs) : (object?[])contact.Values.Clone();
        foreach (var field in new[] { "displayName", "addressLine1", "addressLine2", "city", "state", "country", "postalCode", "phoneNumber", "email", "website" })
        {
            values[cs.IndexOf(field)] = row.Values[schema.IndexOf(field)];
        }

        values[cs.IndexOf("type")] = "Company";
        var contactId = contact is null ? Guid.NewGuid() : IdOf(contact, cs);
        values[cs.KeyIndex] = contactId;
        if (contact is null)
        {
            values[cs.IndexOf("number")] = NextNumber(companyId, cs);
        }


        var relatedType = schema.EntitySet == BcSchemas.Customers ? "Customer" : "Vendor";
        values[cs.IndexOf("companyNumber")] = values[cs.IndexOf("number")];
        values[cs.IndexOf("companyName")] = values[cs.IndexOf("displayName")];
        values[cs.IndexOf("searchName")] = ((string?)values[cs.IndexOf("displayName")] ?? string.Empty).ToUpperInvariant();
        values[cs.IndexOf("contactBusinessRelation")] = relatedType;
        values[cs.IndexOf("lastModifiedDateTime")] = row.Values[schema.IndexOf("lastModifiedDateTime")];
        contacts.Put(new Row(values, Store.NextVersion(), caller.ObjectId));

        var relationValues = new object?[rs.Columns.Count];
        relationValues[rs.KeyIndex] = relation?.Values[rs.KeyIndex] ?? Guid.NewGuid();
        relationValues[rs.IndexOf("contactId")] = contactId;
        relationValues[rs.IndexOf("contactNumber")] = values[cs.IndexOf("number")];
        relationValues[rs.IndexOf("contactName")] = values[cs.IndexOf("displayName")];
        relationValues[rs.IndexOf("contactType")] = "Company";
        relationValues[rs.IndexOf("relatedId")] = id;
        relationValues[rs.IndexOf("relatedType")] = relatedType;
        relations.Put(new Row(relationValues, Store.NextVersion(), caller.ObjectId));
    }
}
