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
        "'" + escaped(name) + "'"
    }

    /// `text` escaped and shortened as `quoted(_:)` does, without the quotes: for free text
    /// from a file shown on its own (a recorded source, a version).
    public static func escaped(_ text: some StringProtocol) -> String {
        var result = ""
        for (index, character) in text.enumerated() {
            if index == maximumLength {
                result += "…"
                break
            }
            for scalar in character.unicodeScalars { result += escaped(scalar) }
        }
        return result
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "'": return "\\'"
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
