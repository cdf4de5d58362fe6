using CrmSync.OData;

namespace CrmSync.Engine.Tests.OData;

public sealed class FilterExpressionTests
{
    [Fact]
    public void Parses_comparisons_logic_literals_and_functions()
    {
        var node = FilterExpression.Parse("statecode eq 0 and (customertypecode eq 3 or not contains(name,'O''Neil')) and _ownerid_value ne null");

        var and = Assert.IsType<LogicalNode>(node);
        Assert.Equal("and", and.Operator);
        var right = Assert.IsType<ComparisonNode>(and.Right);
        Assert.Equal(new PropertyNode("_ownerid_value"), right.Left);
        Assert.Equal(new LiteralNode(null), right.Right);
        var inner = Assert.IsType<LogicalNode>(Assert.IsType<LogicalNode>(and.Left).Right);
        var contains = Assert.IsType<FunctionNode>(Assert.IsType<NotNode>(inner.Right).Operand);
        Assert.Equal(new LiteralNode("O'Neil"), contains.Arguments[1]);
    }

    [Fact]
    public void Parses_dates_guids_numbers_booleans_and_in()
    {
        var date = Assert.IsType<ComparisonNode>(FilterExpression.Parse("lastModifiedDateTime gt 2019-08-18T20:05:51.603Z"));
        Assert.Equal(new LiteralNode(new DateTimeOffset(2019, 8, 18, 20, 5, 51, 603, TimeSpan.Zero)), date.Right);
        var guid = Assert.IsType<ComparisonNode>(FilterExpression.Parse("_modifiedby_value ne 5d3c2b1a-0000-4000-8000-00000000abcd"));
        Assert.Equal(new LiteralNode(Guid.Parse("5d3c2b1a-0000-4000-8000-00000000abcd")), guid.Right);
        var letterGuid = Assert.IsType<ComparisonNode>(FilterExpression.Parse("id eq ab3c2b1a-0000-4000-8000-00000000abcd"));
        Assert.IsType<Guid>(Assert.IsType<LiteralNode>(letterGuid.Right).Value);
        Assert.Equal(new LiteralNode(-12.5m), Assert.IsType<ComparisonNode>(FilterExpression.Parse("creditlimit ge -12.5")).Right);
        Assert.Equal(new LiteralNode(false), Assert.IsType<ComparisonNode>(FilterExpression.Parse("isdisabled eq false")).Right);
        var @in = Assert.IsType<InNode>(FilterExpression.Parse("code in ('EUR','USD')"));
        Assert.Equal(2, @in.Values.Count);
    }

    [Fact]
    public void Parses_lambda_operators_over_collections()
    {
        var any = Assert.IsType<LambdaNode>(FilterExpression.Parse("assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)"));
        Assert.Equal(("assignedLicenses", "any", "x"), (any.Collection, any.Operator, any.Variable));
        Assert.Equal(new PropertyNode("x/skuId"), Assert.IsType<ComparisonNode>(any.Predicate).Left);
        var empty = Assert.IsType<LambdaNode>(Assert.IsType<NotNode>(FilterExpression.Parse("not otherMails/any()")).Operand);
        Assert.Null(empty.Predicate);
        Assert.Equal("all", Assert.IsType<LambdaNode>(FilterExpression.Parse("lines/all(l: l/quantity gt 0 and l/unit eq 'PCS')")).Operator);
        Assert.Contains("':' after the variable x", FilterExpression.Validate("tags/any(x x eq 'a')"));
        Assert.Contains("expected a variable name", FilterExpression.Validate("tags/all()"));
    }

    [Theory]
    [InlineData("name eq 'open", "not closed", 9)]
    [InlineData("name = 'x'", "'=' is not allowed", 6)]
    [InlineData("name eq", "ends where a value was expected", 8)]
    [InlineData("name eq 'a' 'b'", "unexpected 'b'", 13)]
    [InlineData("(name eq 'a'", "')' to close", 13)]
    [InlineData("frob(name)", "not a supported function", 1)]
    [InlineData("eq 'a'", "needs a value on its left", 1)]
    public void Errors_name_the_position_and_the_problem(string filter, string problem, int position)
    {
        var ex = Assert.Throws<CrmSyncException>(() => FilterExpression.Parse(filter));

        Assert.Equal("FilterSyntaxError", ex.ErrorId);
        Assert.Contains(problem, ex.Message);
        Assert.Contains($"position {position}", ex.Message);
        Assert.Equal(ex.Message, FilterExpression.Validate(filter));
    }
}
