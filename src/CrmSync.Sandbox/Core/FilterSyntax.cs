using Microsoft.OData;
using Microsoft.OData.UriParser;

namespace CrmSync.Sandbox.Core;

/// <summary>
/// $filter as the sandbox reads it: Microsoft.OData.Core's URI parser — an OData implementation independent of the
/// engine's own filter parser, so a grammar mistake in either shows up against the other — and its syntax tokens
/// (QueryToken) as the tree the services check and <see cref="FilterCompiler"/> evaluates. Syntax errors are the
/// library's (400); constructs the sandbox does not evaluate are refused by name (400) before anything runs.
/// </summary>
public static class FilterSyntax
{
    // Deep enough for any filter a sync tool sends; deeper nesting is refused like an oversized query.
    private const int MaxDepth = 100;

    /// <summary>The parsed filter, every part of it one the sandbox evaluates.</summary>
    public static QueryToken Parse(string filter)
    {
        var token = ParseTokens(filter);
        Validate(token);
        return token;
    }

    /// <summary>Whether a token names a property: <c>name</c>, <c>address/city</c>, or <c>x/skuId</c> inside a lambda.</summary>
    public static bool IsPath(QueryToken token) => token is EndPathToken or InnerPathToken or RangeVariableToken;

    // a/b/c arrives as End(c, Inner(b, Inner(a))); x/skuId inside a lambda as End(skuId, RangeVariable(x)).
    public static string Path(QueryToken token)
    {
        var segments = new Stack<string>();
        for (var current = token; current is not null;)
        {
            (var segment, current) = current switch
            {
                EndPathToken end => (end.Identifier, end.NextToken),
                InnerPathToken inner => (inner.Identifier, inner.NextToken),
                RangeVariableToken variable => (variable.Name, (QueryToken?)null),
                _ => throw BadRequest($"The path uses {Describe(current)}, which the sandbox does not evaluate."),
            };
            segments.Push(segment);
        }

        return string.Join('/', segments);
    }

    /// <summary>The collection a lambda ranges over (<c>assignedLicenses</c> of <c>assignedLicenses/any(…)</c>).</summary>
    public static string Collection(LambdaToken lambda) =>
        lambda.Parent is null ? throw BadRequest("any() and all() need a collection property before them.") : Path(lambda.Parent);

    /// <summary>eq, ne, gt, ge, lt or le.</summary>
    public static string ComparisonOperator(BinaryOperatorKind kind) => kind switch
    {
        BinaryOperatorKind.Equal => "eq",
        BinaryOperatorKind.NotEqual => "ne",
        BinaryOperatorKind.GreaterThan => "gt",
        BinaryOperatorKind.GreaterThanOrEqual => "ge",
        BinaryOperatorKind.LessThan => "lt",
        BinaryOperatorKind.LessThanOrEqual => "le",
        _ => throw BadRequest($"The operator '{kind}' is not supported in $filter here; use eq, ne, gt, ge, lt, le, and, or, not, in."),
    };

    /// <summary>A literal as the sandbox compares it: string, decimal (every number), bool, null, Guid or DateTimeOffset (dates at midnight UTC).</summary>
    public static object? Value(LiteralToken literal) => literal.Value switch
    {
        null or string or bool or Guid or DateTimeOffset => literal.Value,
        int or long or short or byte or sbyte or decimal or float or double => Convert.ToDecimal(literal.Value, System.Globalization.CultureInfo.InvariantCulture),
#pragma warning disable CS0618 // ODL 8 still returns its own Date for 2024-05-01 (DateOnly from ODL 9 on).
        Microsoft.OData.Edm.Date date => new DateTimeOffset(date.Year, date.Month, date.Day, 0, 0, 0, TimeSpan.Zero),
#pragma warning restore CS0618
        DateOnly date => new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        var other => throw BadRequest($"The literal '{other}' ({other.GetType().Name}) is not a type the sandbox compares; use a string, number, boolean, GUID or date/time."),
    };

    // The parser keeps the list of "in" as its text, e.g. "('EUR','USD')". Parsed as the arguments of a function call,
    // the same parser reads each item with full literal rules (quotes, doubled quotes, commas inside strings).
    public static IReadOnlyList<LiteralToken> ListItems(InToken @in)
    {
        if (@in.Right is not LiteralToken { Value: string list } || !list.StartsWith('(') || !list.EndsWith(')'))
        {
            throw BadRequest("In $filter, the right side of 'in' must be a list in parentheses, e.g. ('EUR','USD').");
        }

        var call = (FunctionCallToken)ParseTokens("list" + list);
        return call.Arguments.Select(a => a.ValueToken as LiteralToken ?? throw BadRequest($"The list of 'in' may hold only literals: {list}")).ToList();
    }

    public static IEnumerable<QueryToken> Arguments(FunctionCallToken function) => function.Arguments.Select(a => a.ValueToken);

    private static QueryToken ParseTokens(string text)
    {
        try
        {
            return new UriQueryExpressionParser(MaxDepth).ParseFilter(text);
        }
        catch (ODataException ex)
        {
            throw BadRequest($"The $filter is not valid OData: {ex.Message}");
        }
    }

    private static void Validate(QueryToken token)
    {
        switch (token)
        {
            case BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And or BinaryOperatorKind.Or } logical:
                Validate(logical.Left);
                Validate(logical.Right);
                break;
            case BinaryOperatorToken comparison:
                ComparisonOperator(comparison.OperatorKind);
                Validate(comparison.Left);
                Validate(comparison.Right);
                break;
            case UnaryOperatorToken { OperatorKind: UnaryOperatorKind.Not } not:
                Validate(not.Operand);
                break;
            case InToken @in:
                Validate(@in.Left);
                foreach (var item in ListItems(@in))
                {
                    Value(item);
                }

                break;
            case LambdaToken lambda:
                Collection(lambda);
                Validate(lambda.Expression);
                break;
            case FunctionCallToken { Source: null } function:
                foreach (var argument in Arguments(function))
                {
                    Validate(argument);
                }

                break;
            case LiteralToken literal:
                Value(literal);
                break;
            case var path when IsPath(path):
                Path(path);
                break;
            default:
                throw BadRequest($"The $filter uses {Describe(token)}, which the sandbox does not evaluate (about_CrmSyncSandbox).");
        }
    }

    public static string Describe(QueryToken token) => token switch
    {
        _ when IsPath(token) => Path(token),
        LiteralToken literal => literal.Value?.ToString() ?? "null",
        FunctionCallToken { Source: null } function => function.Name + "(...)",
        { Kind: QueryTokenKind.DottedIdentifier } => "a type cast or enum literal",
        { Kind: QueryTokenKind.FunctionCall } => "a function bound to a path",
        _ => $"'{token.Kind}'",
    };

    public static ServiceException BadRequest(string message) => new(400, "BadRequest", message);
}
