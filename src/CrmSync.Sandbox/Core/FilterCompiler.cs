using Microsoft.OData.UriParser;

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

    public Func<Row, bool> Compile(QueryToken token) => token switch
    {
        BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And } and => CompileAnd(and),
        BinaryOperatorToken { OperatorKind: BinaryOperatorKind.Or } or => CompileOr(or),
        BinaryOperatorToken comparison => CompileComparison(comparison),
        UnaryOperatorToken { OperatorKind: UnaryOperatorKind.Not } not => CompileNot(not),
        InToken @in => CompileIn(@in),
        LambdaToken lambda => CompileLambda(lambda),
        FunctionCallToken { Name: "contains" or "startswith" or "endswith" } function => CompileStringPredicate(function),
        LiteralToken { Value: bool b } => _ => b,
        _ when FilterSyntax.IsPath(token) && Resolve(FilterSyntax.Path(token)).Type == ColumnType.Bool => BoolProperty(FilterSyntax.Path(token)),
        _ => throw BadRequest($"The expression '{FilterSyntax.Describe(token)}' is not a boolean condition."),
    };

    private Func<Row, bool> BoolProperty(string path)
    {
        var get = Resolve(path).Get;
        return row => get(row) is true;
    }

    private Func<Row, bool> CompileAnd(BinaryOperatorToken node)
    {
        var left = Compile(node.Left);
        var right = Compile(node.Right);
        return row => left(row) && right(row);
    }

    private Func<Row, bool> CompileOr(BinaryOperatorToken node)
    {
        var left = Compile(node.Left);
        var right = Compile(node.Right);
        return row => left(row) || right(row);
    }

    private Func<Row, bool> CompileNot(UnaryOperatorToken node)
    {
        var operand = Compile(node.Operand);
        return row => !operand(row);
    }

    private Func<Row, bool> CompileComparison(BinaryOperatorToken node)
    {
        var op = FilterSyntax.ComparisonOperator(node.OperatorKind);
        CheckTypes(node.Left, node.Right, op);
        var left = Operand(node.Left);
        var right = Operand(node.Right);
        return op switch
        {
            "eq" => row => ValueComparer.AreEqual(left(row), right(row)),
            "ne" => row => !ValueComparer.AreEqual(left(row), right(row)),
            "gt" => row => Ordered(left(row), right(row), c => c > 0),
            "ge" => row => Ordered(left(row), right(row), c => c >= 0),
            "lt" => row => Ordered(left(row), right(row), c => c < 0),
            _ => row => Ordered(left(row), right(row), c => c <= 0),
        };
    }

    // collection/any(x:x/p eq v) and collection/all(...): the predicate runs over each element as a row of the element's
    // shape, with x/p resolved on the element and every other path on the row itself. any() has the predicate true.
    private Func<Row, bool> CompileLambda(LambdaToken node)
    {
        var collection = FilterSyntax.Collection(node);
        var isAll = node is AllToken;
        var access = Resolve(collection);
        if (access.ElementSchema is not { } element)
        {
            throw BadRequest($"'{collection}' is not a collection that {(isAll ? "all" : "any")}() can filter.");
        }

        var prefix = node.Parameter + "/";
        var elementProperties = PlainProperties.For(element);
        var predicate = new FilterCompiler(path => path.StartsWith(prefix, StringComparison.Ordinal) ? elementProperties(path[prefix.Length..]) : null, _unknownProperty).Compile(node.Expression);
        return row =>
        {
            var elements = access.Get(row) is System.Text.Json.Nodes.JsonArray array ? array.Select(e => ElementRow(element, e)) : Enumerable.Empty<Row>();
            return isAll ? elements.All(predicate) : elements.Any(predicate);
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

    private Func<Row, bool> CompileIn(InToken node)
    {
        var operand = Operand(node.Left);
        var values = FilterSyntax.ListItems(node).Select(FilterSyntax.Value).ToList();
        return row =>
        {
            var value = operand(row);
            return values.Any(v => ValueComparer.AreEqual(value, v));
        };
    }

    private Func<Row, bool> CompileStringPredicate(FunctionCallToken node)
    {
        var arguments = FilterSyntax.Arguments(node).ToList();
        if (arguments.Count != 2)
        {
            throw BadRequest($"The function '{node.Name}' takes 2 arguments.");
        }

        var text = Operand(arguments[0]);
        var part = Operand(arguments[1]);
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

    private Func<Row, object?> Operand(QueryToken node)
    {
        switch (node)
        {
            case LiteralToken literal:
                var value = FilterSyntax.Value(literal);
                return _ => value;
            case var path when FilterSyntax.IsPath(path):
                return Resolve(FilterSyntax.Path(path)).Get;
            case FunctionCallToken { Name: "tolower" or "toupper" or "trim" or "length" } function when function.Arguments.Count() == 1:
                var argument = Operand(FilterSyntax.Arguments(function).Single());
                return function.Name switch
                {
                    "tolower" => row => (argument(row) as string)?.ToLowerInvariant(),
                    "toupper" => row => (argument(row) as string)?.ToUpperInvariant(),
                    "trim" => row => (argument(row) as string)?.Trim(),
                    _ => row => argument(row) is string s ? (decimal)s.Length : null,
                };
            default:
                throw BadRequest($"The expression '{FilterSyntax.Describe(node)}' cannot be used as a value.");
        }
    }

    private void CheckTypes(QueryToken left, QueryToken right, string op)
    {
        var (property, literal) = left is LiteralToken l ? (right, l) : (left, right as LiteralToken);
        var literalValue = literal is null ? null : FilterSyntax.Value(literal);
        if (literalValue is null || !FilterSyntax.IsPath(property))
        {
            return;
        }

        var path = FilterSyntax.Path(property);
        var access = Resolve(path);
        var type = access.Type;
        if (access.EnumMembers is { } members && literalValue is string member && !members.Contains(member, StringComparer.Ordinal))
        {
            // An enum is compared by member name, as the service returns it: a blank option is _x0020_, never ' '.
            throw BadRequest($"The string '{member}' is not a valid enumeration constant for {path}; use one of: {string.Join(", ", members.Select(m => $"'{m}'"))}.");
        }

        var compatible = (type, literalValue) switch
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
            var found = literalValue switch
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

    internal static ServiceException BadRequest(string message) => new(400, "BadRequest", message);
}
