/// Names and tokens read from files, made safe to print.
///
/// A file can name a group, a layer or a token anything, including newlines and terminal
/// escape sequences. Every such name goes into a message through `quoted(_:)`, which wraps it in
/// single quotes, escapes quotes, backslashes and every control or invisible format character
/// as `\n`, `\t` or `\u{…}`, and shortens it to `maximumLength` characters.
public enum QuotedName {
    /// The most characters of a name a message shows; longer names end in `…`.
    public static let maximumLength = 120

    /// `name` in single quotes, escaped and shortened for a one-line message.
    public static func quoted(_ name: some StringProtocol) -> String {
        "'" + escaped(name, quote: true) + "'"
    }

    /// `name` escaped and shortened as `quoted(_:)` does, without the quotes: for words from a
    /// file that a message shows bare, such as a layer's class name.
    public static func bare(_ name: some StringProtocol) -> String {
        escaped(name, quote: false)
    }

    /// A whole message made safe for a terminal: its line breaks and backslashes kept (names in
    /// it are quoted already), every other control or
    /// invisible format character escaped as in `quoted(_:)`, nothing shortened. The CLI passes
    /// every error message through this, behind the quoting of each name.
    public static func printable(_ message: String) -> String {
        var text = ""
        for scalar in message.unicodeScalars {
            text += scalar == "\n" || scalar == "\\" ? String(scalar) : escaped(scalar, quote: false)
        }
        return text
    }

    private static func escaped(_ name: some StringProtocol, quote: Bool) -> String {
        var text = ""
        for (index, character) in name.enumerated() {
            if index == maximumLength {
                text += "…"
                break
            }
            for scalar in character.unicodeScalars { text += escaped(scalar, quote: quote) }
        }
        return text
    }

    private static func escaped(_ scalar: Unicode.Scalar, quote: Bool) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "'" where quote: return "\\'"
        case "\\": return "\\\\"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
                return "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                return String(scalar)
            }
        }
    }
}
