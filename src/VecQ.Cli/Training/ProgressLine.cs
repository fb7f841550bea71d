namespace VecQ.Cli.Training;

/// <summary>
/// Training progress on stderr: on a terminal one line redrawn in place (carriage return, padded to wipe the
/// previous text), ended with a newline when the epoch's line is final; elsewhere (a log file, a pipe, a test)
/// plain lines, one per report.
/// </summary>
internal sealed class ProgressLine(TextWriter log, bool inPlace)
{
    private int _width;

    /// <summary>Shows <paramref name="text"/> as the current progress.</summary>
    public void Show(string text)
    {
        if (!inPlace) { log.WriteLine(text); return; }
        log.Write('\r' + text.PadRight(_width));
        _width = text.Length;
        log.Flush();
    }

    /// <summary>Ends the in-place line (no-op when nothing is pending or progress is plain lines).</summary>
    public void End()
    {
        if (!inPlace || _width == 0) return;
        log.WriteLine();
        _width = 0;
    }
}
