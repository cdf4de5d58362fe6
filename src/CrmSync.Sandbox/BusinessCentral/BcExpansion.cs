
namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>
/// One item of a BC <c>$expand</c>: the navigation property, the columns its entities show and, for a collection,
/// which of them it keeps. Items take <c>$select</c> and (collections) <c>$filter</c> in parentheses; anything else
/// inside them is refused rather than ignored.
/// </summary>
public sealed record BcExpansion(BcNavigationProperty Property, IReadOnlyList<int> Columns, Func<Row, bool> Keeps)
{
    public static IReadOnlyList<BcExpansion> Parse(EntitySchema schema, string? expand)
    {
        if (string.IsNullOrWhiteSpace(expand))
        {
            return Array.Empty<BcExpansion>();
        }

        var items = new List<BcExpansion>();
        foreach (var item in SplitTopLevel(expand, ','))
        {
            var open = item.IndexOf('(');
            var name = (open < 0 ? item : item[..open]).Trim();
            if (open >= 0 && !item.EndsWith(')'))
            {
                throw BadRequest($"The $expand item '{item}' is not closed; write {name}($select=…;$filter=…).");
            }

            var property = BcNavigation.Find(schema, name) ?? throw BcNavigation.NotEmulated(schema, name);
            if (items.Any(i => i.Property.Name == name))
            {
                throw BadRequest($"The navigation property '{name}' is expanded twice.");
            }

            string? select = null;
            string? filter = null;
            foreach (var option in open < 0 ? Array.Empty<string>() : SplitTopLevel(item[(open + 1)..^1], ';'))
            {
                var equals = option.IndexOf('=');
                var key = equals < 0 ? option : option[..equals].Trim();
                var value = equals < 0 ? string.Empty : option[(equals + 1)..];
                switch (key)
                {
                    case "$select":
                        select = value;
                        break;
                    case "$filter" when property.IsCollection:
                        filter = value;
                        break;
                    case "$expand":
                        throw new ServiceException(400, "BadRequest_NotImplemented", $"The sandbox does not emulate a nested $expand (inside {name}); expand one level and read further entities separately (about_CrmSyncSandbox).");
                    default:
                        throw BadRequest($"The sandbox serves $select{(property.IsCollection ? " and $filter" : string.Empty)} inside $expand={name}(…), not '{key}'.");
                }
            }

            BcService.RefuseOrAcrossFields(filter);
            var target = property.Target;
            var columns = BcService.SelectColumns(target, select?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            items.Add(new BcExpansion(property, columns, QueryRunner.Predicate(filter, BcService.Compiler(target))));
        }

        return items;
    }

    // Splits at separators outside parentheses and quoted strings: contactsInformation($select=a,b;$filter=x eq 'a,b'),currency.
    private static IEnumerable<string> SplitTopLevel(string text, char separator)
    {
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\'':
                    quoted = !quoted;
                    break;
                case '(' when !quoted:
                    depth++;
                    break;
                case ')' when !quoted:
                    depth--;
                    break;
                default:
                    if (text[i] == separator && depth == 0 && !quoted)
                    {
                        yield return text[start..i].Trim();
                        start = i + 1;
                    }

                    break;
            }
        }

        yield return text[start..].Trim();
    }

    private static ServiceException BadRequest(string message) => new(400, "BadRequest", message);
}
