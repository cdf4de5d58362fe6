using Microsoft.OData;
using Microsoft.OData.UriParser;

namespace CrmSync.Sandbox.Core;

/// <summary>A $filter as the sandbox's services evaluate it (see <see cref="FilterSyntax"/>).</summary>
public abstract record FilterNode;

public sealed record LogicalNode(string Operator, FilterNode Left, FilterNode Right) : FilterNode;

public sealed record NotNode(FilterNode Operand) : FilterNode;

public sealed record ComparisonNode(string Operator, FilterNode Left, FilterNode Right) : FilterNode;

/// <summary><c>code in ('EUR','USD')</c>.</summary>
public sealed record InNode(FilterNode Operand, IReadOnlyList<FilterNode> Values) : FilterNode;

public sealed record FunctionNode(string Name, IReadOnlyList<FilterNode> Arguments) : FilterNode;

/// <summary>A property path (<c>name</c>, <c>address/city</c>); inside a lambda, <c>x/skuId</c> for the element's skuId.</summary>
public sealed record PropertyNode(string Path) : FilterNode;

/// <summary><c>assignedLicenses/any(x:x/skuId eq …)</c>; <c>any()</c> has no variable and no predicate.</summary>
public sealed record LambdaNode(string Collection, string Operator, string? Variable, FilterNode? Predicate) : FilterNode;

/// <summary>string, decimal (every number), bool, null, Guid or DateTimeOffset (dates at midnight UTC).</summary>
public sealed record LiteralNode(object? Value) : FilterNode;

/// <summary>
/// Reads $filter text with Microsoft.OData.Core's URI parser — an OData implementation independent of the engine's own
/// filter parser, so a grammar mistake in either shows up against the other — and turns its syntax tokens into the
/// sandbox's nodes. Syntax errors are the library's (400); constructs the sandbox does not evaluate are refused (400).
/// </summary>
public static class FilterSyntax
{
    // Deep enough for any filter a sync tool sends; deeper nesting is refused like an oversized query.
    private const int MaxDepth = 100;

    public static FilterNode Parse(string filter) => Convert(ParseTokens(filter));

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

    private static FilterNode Convert(QueryToken token) => token switch
    {
        BinaryOperatorToken { OperatorKind: BinaryOperatorKind.And or BinaryOperatorKind.Or } logical =>
            new LogicalNode(logical.OperatorKind == BinaryOperatorKind.And ? "and" : "or", Convert(logical.Left), Convert(logical.Right)),
        BinaryOperatorToken comparison => new ComparisonNode(ComparisonOperator(comparison.OperatorKind), Convert(comparison.Left), Convert(comparison.Right)),
        UnaryOperatorToken { OperatorKind: UnaryOperatorKind.Not } not => new NotNode(Convert(not.Operand)),
        InToken @in => new InNode(Convert(@in.Left), ListItems(@in.Right)),
        LambdaToken lambda => Lambda(lambda),
        FunctionCallToken { Source: null } function => new FunctionNode(function.Name, function.Arguments.Select(a => Convert(a.ValueToken)).ToList()),
        EndPathToken or InnerPathToken or RangeVariableToken => new PropertyNode(Path(token)),
        LiteralToken literal => new LiteralNode(LiteralValue(literal.Value)),
        _ => throw BadRequest($"The $filter uses {Describe(token)}, which the sandbox does not evaluate (about_CrmSyncSandbox)."),
    };

    private static string ComparisonOperator(BinaryOperatorKind kind) => kind switch
    {
        BinaryOperatorKind.Equal => "eq",
        BinaryOperatorKind.NotEqual => "ne",
        BinaryOperatorKind.GreaterThan => "gt",
        BinaryOperatorKind.GreaterThanOrEqual => "ge",
        BinaryOperatorKind.LessThan => "lt",
        BinaryOperatorKind.LessThanOrEqual => "le",
        _ => throw BadRequest($"The operator '{kind}' is not supported in $filter here; use eq, ne, gt, ge, lt, le, and, or, not, in."),
    };

    // The parser keeps the list of "in" as its text, e.g. "('EUR','USD')". Parsed as the arguments of a function call,
    // the same parser reads each item with full literal rules (quotes, doubled quotes, commas inside strings).
    private static IReadOnlyList<FilterNode> ListItems(QueryToken right)
    {
        if (right is not LiteralToken { Value: string list } || !list.StartsWith('(') || !list.EndsWith(')'))
        {
            throw BadRequest("In $filter, the right side of 'in' must be a list in parentheses, e.g. ('EUR','USD').");
        }

        var call = (FunctionCallToken)ParseTokens("list" + list);
        return call.Arguments.Select(a => a.ValueToken is LiteralToken ? Convert(a.ValueToken)
            : throw BadRequest($"The list of 'in' may hold only literals: {list}")).ToList();
    }

    private static LambdaNode Lambda(LambdaToken lambda)
    {
        var op = lambda is AllToken ? "all" : "any";
        var collection = lambda.Parent is null ? throw BadRequest($"{op}() needs a collection property before it.") : Path(lambda.Parent);
        return string.IsNullOrEmpty(lambda.Parameter)
            ? new LambdaNode(collection, op, null, null)
            : new LambdaNode(collection, op, lambda.Parameter, Convert(lambda.Expression));
    }

    // a/b/c arrives as End(c, Inner(b, Inner(a))); x/skuId inside a lambda as End(skuId, RangeVariable(x)).
    private static string Path(QueryToken token)
    {
        var segments = new Stack<string>();
        for (var current = token; current is not null;)
        {
            switch (current)
            {
                case EndPathToken end:
                    segments.Push(end.Identifier);
                    current = end.NextToken;
                    break;
                case InnerPathToken inner:
                    segments.Push(inner.Identifier);
                    current = inner.NextToken;
                    break;
                case RangeVariableToken variable:
                    segments.Push(variable.Name);
                    current = null;
                    break;
                default:
                    throw BadRequest($"The path uses {Describe(current)}, which the sandbox does not evaluate.");
            }
        }

        return string.Join('/', segments);
    }

    private static object? LiteralValue(object? value) => value switch
    {
        null or string or bool or Guid or DateTimeOffset => value,
        int or long or short or byte or sbyte or decimal or float or double => System.Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture),
#pragma warning disable CS0618 // ODL 8 still returns its own Date for 2024-05-01 (DateOnly from ODL 9 on).
        Microsoft.OData.Edm.Date date => new DateTimeOffset(date.Year, date.Month, date.Day, 0, 0, 0, TimeSpan.Zero),
#pragma warning restore CS0618
        DateOnly date => new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        _ => throw BadRequest($"The literal '{value}' ({value.GetType().Name}) is not a type the sandbox compares; use a string, number, boolean, GUID or date/time."),
    };

    private static string Describe(QueryToken token) => token.Kind switch
    {
        QueryTokenKind.DottedIdentifier => "a type cast or enum literal",
        QueryTokenKind.FunctionCall => "a function bound to a path",
        var kind => $"'{kind}'",
    };

    private static ServiceException BadRequest(string message) => new(400, "BadRequest", message);
}
