/// The header of a `.npy` file: the Python dictionary literal NumPy writes,
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, parsed as the literal it is.
///
/// Exactly the three keys NumPy requires, each once; `descr` a simple type string (not a
/// structured type); `shape` a tuple of non-negative integers (a one-element tuple needs its
/// comma, as in Python). Anything else is refused with the reason, never guessed at.
struct NumPyHeader: Equatable {
    let elementType: NumPyElementType
    let fortranOrder: Bool
    let shape: [Int]

    /// Why a header is not a readable `.npy` header.
    struct Malformed: Error {
        let reason: String
    }

    /// Parses `text`, the header after the length field (trailing spaces and newline allowed).
    init(parsing text: String) throws(Malformed) {
        var scanner = LiteralScanner(text)
        let entries = try scanner.dictionary()
        scanner.skipSpace()
        guard scanner.atEnd else { throw Malformed(reason: "text after the header dictionary") }
        var descr: String?, fortranOrder: Bool?, shape: [Int]?
        for (key, value) in entries {
            switch (key, value) {
            case ("descr", .string(let text)) where descr == nil: descr = text
            case ("fortran_order", .boolean(let flag)) where fortranOrder == nil: fortranOrder = flag
            case ("shape", .tuple(let dimensions)) where shape == nil: shape = dimensions
            case ("descr", _), ("fortran_order", _), ("shape", _):
                let repeated = (key == "descr" && descr != nil) || (key == "fortran_order" && fortranOrder != nil) || (key == "shape" && shape != nil)
                throw Malformed(reason: repeated ? "the key '\(key)' appears twice" : "the value of '\(key)' has the wrong type")
            default:
                throw Malformed(reason: "unexpected key \(Self.shown(key)) (a .npy header has exactly 'descr', 'fortran_order' and 'shape')")
            }
        }
        guard let descr, let fortranOrder, let shape else {
            let missing = [("descr", descr == nil), ("fortran_order", fortranOrder == nil), ("shape", shape == nil)].filter(\.1).map(\.0)
            throw Malformed(reason: "the header has no \(missing.map { "'\($0)'" }.joined(separator: ", "))")
        }
        guard let type = NumPyElementType(descr: descr) else {
            throw Malformed(reason: "the dtype \(Self.shown(descr)) is not a number type FCNKit reads (float16/32/64, signed or unsigned integers of 1 to 8 bytes, bool)")
        }
        (elementType, self.fortranOrder, self.shape) = (type, fortranOrder, shape)
    }

    /// A string from the file, quoted and cut short for a message.
    private static func shown(_ text: String) -> String {
        let cut = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "'" + cut.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined() + "'"
    }
}

/// The number types a `.npy` array may hold, with their byte order.
struct NumPyElementType: Equatable {
    enum Kind: Equatable { case float, signed, unsigned, boolean }
    let kind: Kind
    let bytes: Int
    let bigEndian: Bool

    /// The type of a NumPy type string such as `<f4`, `>i2`, `|u1`, `|b1`; nil for the rest
    /// (complex, objects, strings, dates, structured types).
    init?(descr: String) {
        let characters = Array(descr)
        guard characters.count >= 3, let size = Int(String(characters[2...])) else { return nil }
        switch characters[0] {
        case "<", "|", "=": bigEndian = false  // "=" is the writer's native order; NumPy writes it only for 1-byte types
        case ">": bigEndian = true
        default: return nil
        }
        switch (characters[1], size) {
        case ("f", 2), ("f", 4), ("f", 8): kind = .float
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): kind = .signed
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): kind = .unsigned
        case ("b", 1): kind = .boolean
        default: return nil
        }
        bytes = size
    }

    /// Whether values are stored as FCNKit's own little-endian float32 and need no conversion.
    var isNativeFloat32: Bool { kind == .float && bytes == 4 && !bigEndian }

    /// NumPy's name of the type, for notes: `float64`, `uint8`, `bool`, with `big-endian` when so.
    var name: String {
        let base: String
        switch kind {
        case .float: base = "float\(bytes * 8)"
        case .signed: base = "int\(bytes * 8)"
        case .unsigned: base = "uint\(bytes * 8)"
        case .boolean: base = "bool"
        }
        return bigEndian && bytes > 1 ? "big-endian \(base)" : base
    }

    /// The value at `offset` in `bytes`, as float32.
    func value(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Float {
        switch (kind, self.bytes) {
        case (.float, 2): return Float(Float16(bitPattern: load(UInt16.self, bytes, offset)))
        case (.float, 4): return Float(bitPattern: load(UInt32.self, bytes, offset))
        case (.float, 8): return Float(Double(bitPattern: load(UInt64.self, bytes, offset)))
        case (.signed, 1): return Float(Int8(bitPattern: bytes[offset]))
        case (.signed, 2): return Float(Int16(bitPattern: load(UInt16.self, bytes, offset)))
        case (.signed, 4): return Float(Int32(bitPattern: load(UInt32.self, bytes, offset)))
        case (.signed, _): return Float(Int64(bitPattern: load(UInt64.self, bytes, offset)))
        case (.unsigned, 1): return Float(bytes[offset])
        case (.unsigned, 2): return Float(load(UInt16.self, bytes, offset))
        case (.unsigned, 4): return Float(load(UInt32.self, bytes, offset))
        case (.unsigned, _): return Float(load(UInt64.self, bytes, offset))
        case (.boolean, _): return bytes[offset] == 0 ? 0 : 1
        case (.float, _): preconditionFailure("float types are 2, 4 or 8 bytes (checked in init)")
        }
    }

    private func load<T: FixedWidthInteger>(_: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        let stored = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        return bigEndian ? T(bigEndian: stored) : T(littleEndian: stored)
    }
}

/// A value of the literals a `.npy` header uses.
enum HeaderLiteral: Equatable {
    case string(String)
    case boolean(Bool)
    case tuple([Int])
}

/// Reads Python literals (strings, True/False, tuples of integers, one flat dictionary) from
/// the header's text, with no recursion: nesting is not part of the format.
private struct LiteralScanner {
    private let characters: [Character]
    private var position = 0

    init(_ text: String) { characters = Array(text) }

    var atEnd: Bool { position == characters.count }

    mutating func skipSpace() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private mutating func expect(_ character: Character, _ what: String) throws(NumPyHeader.Malformed) {
        skipSpace()
        guard position < characters.count, characters[position] == character else {
            throw NumPyHeader.Malformed(reason: "expected \(what) at character \(position + 1)")
        }
        position += 1
    }

    private mutating func peek(_ character: Character) -> Bool {
        skipSpace()
        return position < characters.count && characters[position] == character
    }

    /// `{ key: value, … }` with an optional trailing comma, keys as strings.
    mutating func dictionary() throws(NumPyHeader.Malformed) -> [(String, HeaderLiteral)] {
        try expect("{", "'{'")
        var entries: [(String, HeaderLiteral)] = []
        while !peek("}") {
            let key = try string()
            try expect(":", "':'")
            entries.append((key, try value()))
            if peek("}") { break }
            try expect(",", "',' or '}'")
        }
        try expect("}", "'}'")
        return entries
    }

    private mutating func value() throws(NumPyHeader.Malformed) -> HeaderLiteral {
        skipSpace()
        guard position < characters.count else { throw NumPyHeader.Malformed(reason: "the header ends inside the dictionary") }
        switch characters[position] {
        case "'", "\"": return .string(try string())
        case "(": return .tuple(try integerTuple())
        default:
            for (word, flag) in [("True", true), ("False", false)] where characters[position...].starts(with: word) {
                position += word.count
                return .boolean(flag)
            }
            throw NumPyHeader.Malformed(reason: "unexpected value at character \(position + 1) (a string, True, False or a tuple)")
        }
    }

    /// A quoted string without escapes (NumPy's keys and type strings have none).
    private mutating func string() throws(NumPyHeader.Malformed) -> String {
        skipSpace()
        guard position < characters.count, characters[position] == "'" || characters[position] == "\"" else {
            throw NumPyHeader.Malformed(reason: "expected a quoted string at character \(position + 1)")
        }
        let quote = characters[position]
        let start = position + 1
        guard let end = characters[start...].firstIndex(of: quote) else { throw NumPyHeader.Malformed(reason: "an unterminated string") }
        let text = String(characters[start..<end])
        guard !text.contains("\\") else { throw NumPyHeader.Malformed(reason: "escapes in a header string") }
        position = end + 1
        return text
    }

    /// `()`, `(n,)`, `(n, m)`, `(n, m,)`: non-negative decimal integers (Python 2's `L`
    /// suffix allowed), each within `Int`; `(n)` is an integer in Python, not a tuple.
    private mutating func integerTuple() throws(NumPyHeader.Malformed) -> [Int] {
        try expect("(", "'('")
        var values: [Int] = []
        var sawComma = false
        while !peek(")") {
            guard !atEnd else { throw NumPyHeader.Malformed(reason: "the header ends inside the shape") }
            let start = position
            while position < characters.count, characters[position].isASCII, characters[position].isNumber { position += 1 }
            let digits = String(characters[start..<position])
            guard !digits.isEmpty else { throw NumPyHeader.Malformed(reason: "a shape entry that is not a non-negative integer at character \(start + 1)") }
            guard let value = Int(digits) else { throw NumPyHeader.Malformed(reason: "the shape entry \(digits) is too large") }
            if position < characters.count, characters[position] == "L" { position += 1 }
            values.append(value)
            if peek(")") { break }
            try expect(",", "',' or ')' in the shape")
            sawComma = true
        }
        try expect(")", "')'")
        guard values.count != 1 || sawComma else { throw NumPyHeader.Malformed(reason: "the shape (\(values[0])) is an integer, not a tuple (NumPy writes (\(values[0]),))") }
        return values
    }
}
