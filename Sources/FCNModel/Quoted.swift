/// A name or token from a file, ready for a message: in single quotes, with control
/// characters, quotes and backslashes escaped, so that a name such as "conv\u{1B}[2J" cannot
/// move the cursor or clear the user's terminal.
public struct Quoted: CustomStringConvertible, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String {
        var result = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'": result += "\\'"
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            case _:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "'"
    }
}
