import FCNDiagnostics

/// The header of a `.npy` file, parsed as the Python dict literal NumPy writes and
/// `numpy.lib.format` reads with `ast.literal_eval`:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
///
/// The header ends with a newline, as NumPy writes it. Exactly the three keys, each once; `descr` a string, `fortran_order` `True` or `False`,
/// `shape` a tuple of non-negative integers that fit an `Int` (a one-item tuple needs its comma,
/// as in Python; Python 2's `28L` is read as 28, as NumPy does). Anything else — another key, a
/// repeated one, an entry that does not parse — is refused with the part that is wrong, so that
/// no header is read differently from NumPy.
struct NumPyHeader {
    let shape: [Int]

    /// Parses `bytes` (the header, padding and newline included) and checks that it describes
    /// a little-endian float32 array in C order.
    init(_ bytes: [UInt8], path: String) throws(NumPyError) {
        // NumPy ends every header with a newline; a header that does not has a wrong length
        // field, and the data would be read from the wrong offset.
        guard bytes.last == 0x0A else {
            throw .unsupported(path: path, what: "the header does not end with a newline (its length field is wrong)")
        }
        var parser = Parser(bytes: bytes, path: path)
        let entries = try parser.dictionary()
        func entry(_ key: String) throws(NumPyError) -> Parser.Value {
            guard let value = entries[key] else { throw .unsupported(path: path, what: "the header has no '\(key)'") }
            return value
        }
        guard case .string(let descriptor) = try entry("descr") else {
            throw .unsupported(path: path, what: "the header's 'descr' is not a string")
        }
        guard descriptor == "<f4" else {
            throw .unsupported(path: path, what: "the array's dtype is \(QuotedName.quoted(descriptor))")
        }
        guard case .boolean(let fortranOrder) = try entry("fortran_order") else {
            throw .unsupported(path: path, what: "the header's 'fortran_order' is not True or False")
        }
        if fortranOrder { throw .unsupported(path: path, what: "the array is in Fortran order") }
        guard case .tuple(let shape) = try entry("shape") else {
            throw .unsupported(path: path, what: "the header's 'shape' is not a tuple of sizes")
        }
        guard shape.count <= 8 else { throw .unsupported(path: path, what: "the shape has \(shape.count) axes, more than 8") }
        self.shape = shape
    }

    /// A recursive-descent reader of the literal; nothing in it nests, so it does not recurse.
    private struct Parser {
        enum Value {
            case string(String)
            case boolean(Bool)
            case tuple([Int])
        }

        let bytes: [UInt8]
        let path: String
        var position = 0

        init(bytes: [UInt8], path: String) {
            self.bytes = bytes
            self.path = path
        }

        private func fail(_ what: String) -> NumPyError {
            .unsupported(path: path, what: "the header is not the dict literal NumPy writes: \(what) at byte \(position)")
        }

        private mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        private mutating func accept(_ character: Character) -> Bool {
            skipSpace()
            guard position < bytes.count, bytes[position] == character.asciiValue! else { return false }
            position += 1
            return true
        }

        private mutating func expect(_ character: Character, _ what: String) throws(NumPyError) {
            guard accept(character) else { throw fail("expected '\(character)' \(what)") }
        }

        /// `{ key: value, … }` followed by nothing but spaces and the final newline.
        mutating func dictionary() throws(NumPyError) -> [String: Value] {
            guard accept("{") else { throw .unsupported(path: path, what: "the header is not a dictionary") }
            var entries: [String: Value] = [:]
            while !accept("}") {
                skipSpace()
                guard position < bytes.count, bytes[position] == 0x27 || bytes[position] == 0x22 else {
                    throw fail(position < bytes.count ? "expected a quoted key" : "the dictionary is never closed")
                }
                let key = try string()
                guard ["descr", "fortran_order", "shape"].contains(key) else {
                    throw .unsupported(path: path, what: "the header has the key \(QuotedName.quoted(key)); "
                        + "a .npy header has exactly 'descr', 'fortran_order' and 'shape'")
                }
                guard entries[key] == nil else {
                    throw .unsupported(path: path, what: "the header gives '\(key)' twice")
                }
                try expect(":", "after \(QuotedName.quoted(key))")
                entries[key] = try value(of: key)
                if !accept(",") {
                    try expect("}", "after the value of '\(key)'")
                    break
                }
            }
            skipSpace()
            guard position == bytes.count else { throw fail("text after the dictionary") }
            return entries
        }

        private mutating func value(of key: String) throws(NumPyError) -> Value {
            skipSpace()
            guard position < bytes.count else { throw fail("the header's '\(key)' has no value") }
            switch bytes[position] {
            case 0x27, 0x22: return .string(try string())
            case UInt8(ascii: "("): return .tuple(try tuple(of: key))
            default:
                let word = self.word()
                switch word {
                case "True": return .boolean(true)
                case "False": return .boolean(false)
                default:
                    throw .unsupported(path: path, what: "the header's '\(key)' is \(QuotedName.quoted(word.isEmpty ? "nothing" : word)), "
                        + "which is not a string, True, False or a tuple")
                }
            }
        }

        /// A quoted string without escapes (NumPy's keys and dtypes have none).
        private mutating func string() throws(NumPyError) -> String {
            let quote = bytes[position]
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard bytes[position] != UInt8(ascii: "\\"), bytes[position] != 0x0A else { throw fail("an escape or newline in a string") }
                position += 1
            }
            guard position < bytes.count else { throw fail("a string is never closed") }
            defer { position += 1 }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// Letters, digits and underscores: `True`, `False`, or a number's text.
        private mutating func word() -> String {
            let start = position
            while position < bytes.count,
                  bytes[position] == UInt8(ascii: "_") || (bytes[position] >= 0x30 && bytes[position] <= 0x39)
                    || ((bytes[position] | 0x20) >= 0x61 && (bytes[position] | 0x20) <= 0x7A) || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// `()`, `(n,)`, `(n, m)`, `(n, m,)`: non-negative integers; `(n)` is no tuple.
        private mutating func tuple(of key: String) throws(NumPyError) -> [Int] {
            position += 1
            var items: [Int] = []
            var trailingComma = false
            while !accept(")") {
                skipSpace()
                guard position < bytes.count else { throw .unsupported(path: path, what: "the header's '\(key)' tuple is never closed") }
                var text = word()
                if text.hasSuffix("L") { text.removeLast() }
                guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw .unsupported(path: path, what: "the header's '\(key)' has the entry \(QuotedName.quoted(text.isEmpty ? "nothing" : text)), "
                        + "not a non-negative integer")
                }
                guard let size = Int(text) else {
                    throw .unsupported(path: path, what: "the header's '\(key)' has the entry \(text), too large for any array")
                }
                items.append(size)
                trailingComma = accept(",")
                if !trailingComma {
                    guard accept(")") else { throw .unsupported(path: path, what: "the header's '\(key)' tuple is never closed") }
                    break
                }
            }
            guard items.count != 1 || trailingComma else {
                throw .unsupported(path: path, what: "the header's '\(key)' is (\(items[0])), a number in parentheses, not a tuple")
            }
            return items
        }
    }
}
