import FCNDiagnostics
/// A reader for protobuf text format, as Caffe's `.prototxt` files use it.
///
/// Messages become objects; a field that repeats becomes an array in file order; scalars
/// (numbers, quoted strings, enum names) stay text until read.
enum Prototxt {
    struct SyntaxError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    /// The deepest nesting of messages accepted; Caffe's own nets nest 3 or 4 deep. Bounds the
    /// parser's recursion, so a hostile file cannot overflow the stack.
    static let maximumDepth = 100

    /// Parses prototxt text into a tree of `ConfigValue`s.
    static func parse(_ text: String) throws(SyntaxError) -> ConfigValue {
        var tokens = Tokenizer(text: text)
        let fields = try parseFields(&tokens, closing: false, depth: 0)
        return .object(fields)
    }

    private static func parseFields(_ tokens: inout Tokenizer, closing: Bool, depth: Int) throws(SyntaxError) -> [String: ConfigValue] {
        var fields: [String: ConfigValue] = [:]
        while let token = try tokens.next() {
            if token.text == "}" && !token.quoted {
                guard closing else { throw SyntaxError(line: token.line, message: "unexpected '}'") }
                return fields
            }
            guard !token.quoted, token.text.first.map({ $0.isLetter || $0 == "_" }) == true else {
                throw SyntaxError(line: token.line, message: "expected a field name, found \(QuotedName.quoted(token.text))")
            }
            guard var separator = try tokens.next() else {
                throw SyntaxError(line: token.line, message: "field \(QuotedName.quoted(token.text)) has no value")
            }
            if separator.text == ":" && !separator.quoted {
                guard let next = try tokens.next() else {
                    throw SyntaxError(line: token.line, message: "field \(QuotedName.quoted(token.text)) has no value")
                }
                separator = next
            }
            let value: ConfigValue
            if separator.text == "{" && !separator.quoted {
                guard depth < maximumDepth else {
                    throw SyntaxError(line: separator.line, message: "messages nest deeper than \(maximumDepth) levels")
                }
                value = .object(try parseFields(&tokens, closing: true, depth: depth + 1))
            } else {
                value = .string(separator.text)
            }
            switch fields[token.text] {
            case nil: fields[token.text] = value
            case .array(let items)?: fields[token.text] = .array(items + [value])
            case let existing?: fields[token.text] = .array([existing, value])
            }
        }
        if closing { throw SyntaxError(line: tokens.line, message: "a '{' is never closed") }
        return fields
    }

    private struct Token {
        let text: String
        let quoted: Bool
        let line: Int
    }

    private struct Tokenizer {
        let characters: [Character]
        var position = 0
        var line = 1

        init(text: String) { characters = Array(text) }

        mutating func next() throws(SyntaxError) -> Token? {
            skipSpaceAndComments()
            guard position < characters.count else { return nil }
            let character = characters[position]
            if "{}:".contains(character) {
                position += 1
                return Token(text: String(character), quoted: false, line: line)
            }
            if character == "\"" || character == "'" {
                return try quoted(by: character)
            }
            var text = ""
            while position < characters.count, !characters[position].isWhitespace, !"{}:#\"'".contains(characters[position]) {
                text.append(characters[position])
                position += 1
            }
            return Token(text: text, quoted: false, line: line)
        }

        private mutating func quoted(by quote: Character) throws(SyntaxError) -> Token {
            let start = line
            position += 1
            var text = ""
            while position < characters.count, characters[position] != quote {
                if characters[position] == "\\", position + 1 < characters.count { position += 1 }
                if characters[position] == "\n" { line += 1 }
                text.append(characters[position])
                position += 1
            }
            guard position < characters.count else { throw SyntaxError(line: start, message: "a string is never closed") }
            position += 1
            return Token(text: text, quoted: true, line: start)
        }

        private mutating func skipSpaceAndComments() {
            while position < characters.count {
                let character = characters[position]
                if character == "#" {
                    while position < characters.count, characters[position] != "\n" { position += 1 }
                } else if character.isWhitespace {
                    if character == "\n" { line += 1 }
                    position += 1
                } else {
                    return
                }
            }
        }
    }
}
