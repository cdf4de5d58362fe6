// A PowerShell host whose user answers prompts from a script: the tests run a command with -Confirm in a runspace on
// this host and see every question asked and the answer given, as an admin at the console would.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace CrmSync.Tests
{
    /// <summary>One question the host was asked, and the choice it answered (its label, e.g. "&amp;No").</summary>
    public sealed class AnsweredPrompt
    {
        public AnsweredPrompt(string caption, string message, string answer)
        {
            Caption = caption;
            Message = message;
            Answer = answer.Replace("&", string.Empty);
        }

        public string Caption { get; }

        public string Message { get; }

        public string Answer { get; }

        public override string ToString() => Message + " -> " + Answer;
    }

    public sealed class ScriptedHost : PSHost
    {
        private readonly ScriptedHostUserInterface _ui;

        /// <param name="answers">The labels to choose, in order ("Yes", "No", "Yes to All", "No to All").</param>
        public ScriptedHost(params string[] answers) => _ui = new ScriptedHostUserInterface(answers);

        public IReadOnlyList<AnsweredPrompt> Prompts => _ui.Prompts;

        /// <summary>Answers not used: more were scripted than asked.</summary>
        public int Unused => _ui.Unused;

        public IReadOnlyList<string> Warnings => _ui.Warnings;

        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

        public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

        public override Guid InstanceId { get; } = Guid.NewGuid();

        public override string Name => "CrmSyncScriptedHost";

        public override PSHostUserInterface UI => _ui;

        public override Version Version => new Version(1, 0);

        public override void EnterNestedPrompt() => throw new NotSupportedException();

        public override void ExitNestedPrompt() => throw new NotSupportedException();

        public override void NotifyBeginApplication()
        {
        }

        public override void NotifyEndApplication()
        {
        }

        public override void SetShouldExit(int exitCode)
        {
        }
    }

    internal sealed class ScriptedHostUserInterface : PSHostUserInterface
    {
        private readonly Queue<string> _answers;
        private readonly List<AnsweredPrompt> _prompts = new List<AnsweredPrompt>();
        private readonly List<string> _warnings = new List<string>();

        public ScriptedHostUserInterface(IEnumerable<string> answers) => _answers = new Queue<string>(answers);

        public IReadOnlyList<AnsweredPrompt> Prompts => _prompts;

        public IReadOnlyList<string> Warnings => _warnings;

        public int Unused => _answers.Count;

        public override PSHostRawUserInterface RawUI => null;

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            if (_answers.Count == 0)
            {
                throw new InvalidOperationException("The script has no answer left for: " + message);
            }

            var wanted = _answers.Dequeue();
            for (var i = 0; i < choices.Count; i++)
            {
                if (string.Equals(choices[i].Label.Replace("&", string.Empty), wanted, StringComparison.OrdinalIgnoreCase))
                {
                    _prompts.Add(new AnsweredPrompt(caption, message, choices[i].Label));
                    return i;
                }
            }

            throw new InvalidOperationException("No choice '" + wanted + "' in: " + message);
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("Prompt: " + message);

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new NotSupportedException("PromptForCredential: " + message);

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new NotSupportedException("PromptForCredential: " + message);

        public override string ReadLine() => throw new NotSupportedException("ReadLine");

        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("ReadLineAsSecureString");

        public override void Write(string value)
        {
        }

        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value)
        {
        }

        public override void WriteLine(string value)
        {
        }

        public override void WriteErrorLine(string value)
        {
        }

        public override void WriteDebugLine(string message)
        {
        }

        public override void WriteProgress(long sourceId, ProgressRecord record)
        {
        }

        public override void WriteVerboseLine(string message)
        {
        }

        public override void WriteWarningLine(string message) => _warnings.Add(message);
    }
}
