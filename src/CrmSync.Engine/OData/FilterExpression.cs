using System.Globalization;
using System.Text;

namespace CrmSync.OData;

/// <summary>A parsed OData $filter expression (the subset BC API v2.0 and the Dataverse Web API accept).</summary>
public abstract record FilterNode;

public sealed record LogicalNode(string Operator, FilterNode Left, FilterNode Right) : FilterNode;

public sealed record NotNode(FilterNode Operand) : FilterNode;

public sealed record ComparisonNode(string Operator, FilterNode Left, FilterNode Right) : FilterNode;

/// <summary>The <c>in</c> operator: <c>code in ('EUR','USD')</c>.</summary>
public sealed record InNode(FilterNode Operand, IReadOnlyList<FilterNode> Values) : FilterNode;

public sealed record FunctionNode(string Name, IReadOnlyList<FilterNode> Arguments) : FilterNode;

/// <summary>A property path such as <c>name</c> or <c>_parentcustomerid_value</c>.</summary>
public sealed record PropertyNode(string Path) : FilterNode;

/// <summary>
/// A lambda over a collection property: <c>assignedLicenses/any(x:x/skuId eq …)</c>. The predicate addresses the
/// element through the variable (<c>x/skuId</c>); <c>any()</c> without a predicate asks for a non-empty collection.
/// </summary>
public sealed record LambdaNode(string Collection, string Operator, string? Variable, FilterNode? Predicate) : FilterNode;

/// <summary>A literal: string, decimal, bool, null, Guid or DateTimeOffset.</summary>
public sealed record LiteralNode(object? Value) : FilterNode;

/// <summary>Parses OData $filter text into <see cref="FilterNode"/>s; errors name the position and the fix.</summary>
public static class FilterExpression
{
    private static readonly HashSet<string> ComparisonOperators = new(StringComparer.Ordinal) { "eq", "ne", "gt", "ge", "lt", "le" };

    private static readonly HashSet<string> KnownFunctions = new(StringComparer.Ordinal)
    {
        "contains", "startswith", "endswith", "tolower", "toupper", "trim", "length",
    };

    public static FilterNode Parse(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var parser = new Parser(filter, Tokenize(filter));
        var node = parser.ParseOr();
        parser.ExpectEnd();
        return node;
    }

    /// <summary>Returns null when the filter is valid, else the error message.</summary>
    public static string? Validate(string filter)
    {
        try
        {
            Parse(filter);
            return null;
        }
        catch (CrmSyncException ex)
        {
            return ex.Message;
        }
    }

    private enum TokenKind { Word, String, Number, Symbol, End }

    private readonly record struct Token(TokenKind Kind, string Text, int Position);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '\'')
            {
                var start = i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw SyntaxError(text, start, "the string literal is not closed; end it with a single quote (write '' for a quote inside it)");
                    }

                    if (text[i] == '\'')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '\'')
                        {
                            value.Append('\'');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    value.Append(text[i++]);
                }

                tokens.Add(new Token(TokenKind.String, value.ToString(), start));
            }
            else if (c is '(' or ')' or ',' or ':')
            {
                tokens.Add(new Token(TokenKind.Symbol, c.ToString(), i++));
            }
            else if (char.IsDigit(c) || (c == '-' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '.' or ':' or '-' or '+'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, text[start..i], start));
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i++;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '/' or '.' or '-'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Word, text[start..i], start));
            }
            else
            {
                throw SyntaxError(text, i, $"'{c}' is not allowed here; OData filters use words for operators (eq, ne, gt, ge, lt, le, and, or, not)");
            }
        }

        tokens.Add(new Token(TokenKind.End, string.Empty, text.Length));
        return tokens;
    }

    private static CrmSyncException SyntaxError(string text, int position, string problem) =>
        new("FilterSyntaxError", CrmSyncErrorKind.InvalidArgument,
            $"The filter \"{text}\" is not valid OData at position {position + 1}: {problem}.", text);

    private sealed class Parser(string text, List<Token> tokens)
    {
        private int _index;

        private Token Current => tokens[_index];

        public void ExpectEnd()
        {
            if (Current.Kind != TokenKind.End)
            {
                throw SyntaxError(text, Current.Position, $"unexpected '{Current.Text}'; join conditions with 'and' or 'or'");
            }
        }

        public FilterNode ParseOr()
        {
            var left = ParseAnd();
            while (IsWord("or"))
            {
                _index++;
                left = new LogicalNode("or", left, ParseAnd());
            }

            return left;
        }

        private FilterNode ParseAnd()
        {
            var left = ParseUnary();
            while (IsWord("and"))
            {
                _index++;
                left = new LogicalNode("and", left, ParseUnary());
            }

            return left;
        }

        private FilterNode ParseUnary()
        {
            if (IsWord("not"))
            {
                _index++;
                return new NotNode(ParseUnary());
            }

            var left = ParseOperand();
            if (Current.Kind == TokenKind.Word && ComparisonOperators.Contains(Current.Text))
            {
                var op = Current.Text;
                _index++;
                return new ComparisonNode(op, left, ParseOperand());
            }

            if (IsWord("in"))
            {
                _index++;
                Expect("(", "a list in parentheses after 'in', e.g. ('EUR','USD')");
                var values = new List<FilterNode> { ParseOperand() };
                while (IsSymbol(","))
                {
                    _index++;
                    values.Add(ParseOperand());
                }

                Expect(")", "')' to close the list");
                return new InNode(left, values);
            }

            return left;
        }

        private FilterNode ParseOperand()
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Symbol when token.Text == "(":
                    _index++;
                    var inner = ParseOr();
                    Expect(")", "')' to close the parenthesis");
                    return inner;
                case TokenKind.String:
                    _index++;
                    return new LiteralNode(token.Text);
                case TokenKind.Number:
                    _index++;
                    return new LiteralNode(ParseNumberLike(token));
                case TokenKind.Word:
                    _index++;
                    switch (token.Text)
                    {
                        case "null": return new LiteralNode(null);
                        case "true": return new LiteralNode(true);
                        case "false": return new LiteralNode(false);
                    }

                    if (Guid.TryParse(token.Text, out var guid))
                    {
                        return new LiteralNode(guid);
                    }

                    if (IsSymbol("(") && LambdaOperator(token.Text) is { } lambda)
                    {
                        return ParseLambda(token, lambda);
                    }

                    if (IsSymbol("("))
                    {
                        if (!KnownFunctions.Contains(token.Text))
                        {
                            throw SyntaxError(text, token.Position, $"'{token.Text}' is not a supported function; use one of {string.Join(", ", KnownFunctions.Order())}");
                        }

                        _index++;
                        var args = new List<FilterNode>();
                        if (!IsSymbol(")"))
                        {
                            args.Add(ParseOr());
                            while (IsSymbol(","))
                            {
                                _index++;
                                args.Add(ParseOr());
                            }
                        }

                        Expect(")", $"')' to close {token.Text}(");
                        return new FunctionNode(token.Text, args);
                    }

                    if (ComparisonOperators.Contains(token.Text) || token.Text is "and" or "or")
                    {
                        throw SyntaxError(text, token.Position, $"'{token.Text}' needs a value on its left");
                    }

                    return new PropertyNode(token.Text);
                case TokenKind.End:
                    throw SyntaxError(text, token.Position, "the filter ends where a value was expected");
                default:
                    throw SyntaxError(text, token.Position, $"unexpected '{token.Text}'");
            }
        }

        private static string? LambdaOperator(string word) =>
            word.EndsWith("/any", StringComparison.Ordinal) ? "any" : word.EndsWith("/all", StringComparison.Ordinal) ? "all" : null;

        // collection/any(x:predicate), collection/all(x:predicate), collection/any()
        private LambdaNode ParseLambda(Token token, string op)
        {
            var collection = token.Text[..^(op.Length + 1)];
            _index++;
            if (op == "any" && IsSymbol(")"))
            {
                _index++;
                return new LambdaNode(collection, op, null, null);
            }

            if (Current.Kind != TokenKind.Word || Current.Text.Contains('/'))
            {
                throw SyntaxError(text, Current.Position, $"expected a variable name after {token.Text}(, e.g. {token.Text}(x:x/property eq value)");
            }

            var variable = Current.Text;
            _index++;
            Expect(":", $"':' after the variable {variable}");
            var predicate = ParseOr();
            Expect(")", $"')' to close {token.Text}(");
            return new LambdaNode(collection, op, variable, predicate);
        }

        private object ParseNumberLike(Token token)
        {
            if (Guid.TryParse(token.Text, out var guid))
            {
                return guid;
            }

            if (token.Text.Contains('T') || token.Text.Count(c => c == '-') >= 2)
            {
                if (DateTimeOffset.TryParse(token.Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
                {
                    return date;
                }

                throw SyntaxError(text, token.Position, $"'{token.Text}' is neither a number nor an ISO 8601 date/time such as 2024-05-01T10:00:00Z");
            }

            if (decimal.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return number;
            }

            throw SyntaxError(text, token.Position, $"'{token.Text}' is not a number");
        }

        private bool IsWord(string word) => Current.Kind == TokenKind.Word && Current.Text == word;

        private bool IsSymbol(string symbol) => Current.Kind == TokenKind.Symbol && Current.Text == symbol;

        private void Expect(string symbol, string what)
        {
            if (!IsSymbol(symbol))
            {
                throw SyntaxError(text, Current.Position, $"expected {what}");
            }

            _index++;
        }
    }
}
