
namespace CrmSync.Sandbox.Core;

/// <summary>How a service reads one property of a row, and its type.</summary>
public sealed record PropertyAccess(Func<Row, object?> Get, ColumnType Type)
{
    /// <summary>For an enum property: the member names a literal compared with it must be one of.</summary>
    public IReadOnlyList<string>? EnumMembers { get; init; }

    /// <summary>For a collection of complex values: the shape of one element (lambda operators any/all).</summary>
    public EntitySchema? ElementSchema { get; init; }
}

/// <summary>Resolves a property path the way one service addresses it; null when it does not exist.</summary>
public delegate PropertyAccess? PropertyResolver(string path);

/// <summary>
/// Compiles a parsed OData $filter into a predicate over rows of one schema. Unknown properties and
/// incompatible operand types fail the way the services do (400), so a wrong client filter is caught.
/// </summary>
public sealed class FilterCompiler
{
    private readonly PropertyResolver _resolve;
    private readonly Func<string, string> _unknownProperty;

    /// <param name="resolve">How the service addresses properties (Dataverse: lookups only as _x_value).</param>
    /// <param name="unknownProperty">The service's message for a property it does not know.</param>
    public FilterCompiler(PropertyResolver resolve, Func<string, string> unknownProperty)
    {
        _resolve = resolve;
        _unknownProperty = unknownProperty;
    }

    /// <summary>Resolves a property to its accessor, or throws the service's "unknown property" error.</summary>
    public PropertyAccess Resolve(string path) => _resolve(path) ?? throw BadRequest(_unknownProperty(path));

    public Func<Row, bool> Compile(FilterNode node) => node switch
    {
        LogicalNode { Operator: "and" } and => CompileAnd(and),
        LogicalNode or => CompileOr(or),
        NotNode not => CompileNot(not),
        ComparisonNode comparison => CompileComparison(comparison),
        InNode @in => CompileIn(@in),
        LambdaNode lambda => CompileLambda(lambda),
        FunctionNode function when function.Name is "contains" or "startswith" or "endswith" => CompileStringPredicate(function),
        LiteralNode { Value: bool b } => _ => b,
        PropertyNode property when Resolve(property.Path).Type == ColumnType.Bool => BoolProperty(property),
        _ => throw BadRequest($"The expression '{Describe(node)}' is not a boolean condition."),
    };

    private Func<Row, bool> BoolProperty(PropertyNode property)
    {
        var get = Resolve(property.Path).Get;
        return row => get(row) is true;
    }

    private Func<Row, bool> CompileAnd(LogicalNode node)
    {
        var left = Compile(node.Left);
        var right = Compile(node.Right);
        return row => left(row) && right(row);
    }

    private Func<Row, bool> CompileOr(LogicalNode node)
    {
        var left = Compile(node.Left);
        var right = Compile(node.Right);
        return row => left(row) || right(row);
    }

    private Func<Row, bool> CompileNot(NotNode node)
    {
        var operand = Compile(node.Operand);
        return row => !operand(row);
    }

    private Func<Row, bool> CompileComparison(ComparisonNode node)
    {
        CheckTypes(node.Left, node.Right, node.Operator);
        var left = Operand(node.Left);
        var right = Operand(node.Right);
        return node.Operator switch
        {
            "eq" => row => ValueComparer.AreEqual(left(row), right(row)),
            "ne" => row => !ValueComparer.AreEqual(left(row), right(row)),
            "gt" => row => Ordered(left(row), right(row), c => c > 0),
            "ge" => row => Ordered(left(row), right(row), c => c >= 0),
            "lt" => row => Ordered(left(row), right(row), c => c < 0),
            "le" => row => Ordered(left(row), right(row), c => c <= 0),
            _ => throw BadRequest($"The operator '{node.Operator}' is not supported."),
        };
    }

    // collection/any(x:x/p eq v) and collection/all(...): the predicate runs over each element as a row of the element's
    // shape, with x/p resolved on the element and every other path on the row itself.
    private Func<Row, bool> CompileLambda(LambdaNode node)
    {
        var access = Resolve(node.Collection);
        if (access.ElementSchema is not { } element)
        {
            throw BadRequest($"'{node.Collection}' is not a collection that {node.Operator}() can filter.");
        }

        var prefix = node.Variable + "/";
        var elementProperties = PlainProperties.For(element);
        var predicate = node.Predicate is null
            ? (Func<Row, bool>)(_ => true)
            : new FilterCompiler(path => path.StartsWith(prefix, StringComparison.Ordinal) ? elementProperties(path[prefix.Length..]) : null, _unknownProperty).Compile(node.Predicate);
        return row =>
        {
            var elements = access.Get(row) is System.Text.Json.Nodes.JsonArray array ? array.Select(e => ElementRow(element, e)) : Enumerable.Empty<Row>();
            return node.Operator == "all" ? elements.All(predicate) : elements.Any(predicate);
        };
    }

    private static Row ElementRow(EntitySchema element, System.Text.Json.Nodes.JsonNode? node)
    {
        var values = new object?[element.Columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (node?[element.Columns[i].Name] is { } value)
            {
                values[i] = JsonValues.Read(element.Columns[i], System.Text.Json.JsonSerializer.SerializeToElement(value));
            }
        }

        return new Row(values, 0, Guid.Empty);
    }

    private Func<Row, bool> CompileIn(InNode node)
    {
        var operand = Operand(node.Operand);
        var values = node.Values.Select(Operand).ToList();
        return row =>
        {
            var value = operand(row);
            return values.Any(v => ValueComparer.AreEqual(value, v(row)));
        };
    }

    private Func<Row, bool> CompileStringPredicate(FunctionNode node)
    {
        if (node.Arguments.Count != 2)
        {
            throw BadRequest($"The function '{node.Name}' takes 2 arguments.");
        }

        var text = Operand(node.Arguments[0]);
        var part = Operand(node.Arguments[1]);
        Func<string, string, bool> test = node.Name switch
        {
            "contains" => (a, b) => a.Contains(b, StringComparison.OrdinalIgnoreCase),
            "startswith" => (a, b) => a.StartsWith(b, StringComparison.OrdinalIgnoreCase),
            _ => (a, b) => a.EndsWith(b, StringComparison.OrdinalIgnoreCase),
        };
        return row => text(row) is string a && part(row) is string b && test(a, b);
    }

    private static bool Ordered(object? a, object? b, Func<int, bool> accept) =>
        a is not null && b is not null && accept(ValueComparer.Compare(a, b));

    private Func<Row, object?> Operand(FilterNode node)
    {
        switch (node)
        {
            case LiteralNode literal:
                var value = literal.Value;
                return _ => value;
            case PropertyNode property:
                return Resolve(property.Path).Get;
            case FunctionNode { Name: "tolower" or "toupper" or "trim" or "length" } function when function.Arguments.Count == 1:
                var argument = Operand(function.Arguments[0]);
                return function.Name switch
                {
                    "tolower" => row => (argument(row) as string)?.ToLowerInvariant(),
                    "toupper" => row => (argument(row) as string)?.ToUpperInvariant(),
                    "trim" => row => (argument(row) as string)?.Trim(),
                    _ => row => argument(row) is string s ? (decimal)s.Length : null,
                };
            default:
                throw BadRequest($"The expression '{Describe(node)}' cannot be used as a value.");
        }
    }

    private void CheckTypes(FilterNode left, FilterNode right, string op)
    {
        var (property, literal) = left is LiteralNode l ? (right, l) : (left, right as LiteralNode);
        if (literal?.Value is null || property is not PropertyNode propertyNode)
        {
            return;
        }

        var access = Resolve(propertyNode.Path);
        var type = access.Type;
        if (access.EnumMembers is { } members && literal.Value is string member && !members.Contains(member, StringComparer.Ordinal))
        {
            // An enum is compared by member name, as the service returns it: a blank option is _x0020_, never ' '.
            throw BadRequest($"The string '{member}' is not a valid enumeration constant for {propertyNode.Path}; use one of: {string.Join(", ", members.Select(m => $"'{m}'"))}.");
        }

        var compatible = (type, literal.Value) switch
        {
            (ColumnType.String, string) => true,
            (ColumnType.Int or ColumnType.Decimal, decimal) => true,
            (ColumnType.Bool, bool) => true,
            (ColumnType.Guid or ColumnType.Lookup, Guid) => true,
            (ColumnType.Guid or ColumnType.Lookup, string s) => Guid.TryParse(s, out _),
            (ColumnType.DateTime, DateTimeOffset) => true,
            _ => false,
        };
        if (!compatible)
        {
            var found = literal.Value switch
            {
                string => "Edm.String",
                decimal => "Edm.Decimal",
                bool => "Edm.Boolean",
                Guid => "Edm.Guid",
                DateTimeOffset => "Edm.DateTimeOffset",
                _ => "Edm.Untyped",
            };
            throw BadRequest($"A binary operator with incompatible types was detected. Found operand types '{new Column("x", type).EdmType}' and '{found}' for operator kind '{op}'.");
        }
    }

    private static string Describe(FilterNode node) => node switch
    {
        PropertyNode p => p.Path,
        LiteralNode l => l.Value?.ToString() ?? "null",
        FunctionNode f => f.Name + "(...)",
        _ => node.GetType().Name,
    };

    internal static ServiceException BadRequest(string message) => new(400, "BadRequest", message);
}
