import Foundation

/// Class names from a labels file (one per line), or the indices when there is none.
struct ClassNames {
    let names: [String]?
    /// The labels file read, if any.
    let path: String?

    /// Reads `explicitPath`, or else `<model stem>-labels.txt` or `labels.txt` beside the model,
    /// or else takes the names the model file records (`recorded`: a converted file's).
    init(explicitPath: String?, modelPath: String, recorded: [String]? = nil) throws {
        let model = URL(fileURLWithPath: modelPath)
        let stem = model.deletingPathExtension().lastPathComponent
        let candidates = explicitPath.map { [$0] } ?? [
            model.deletingLastPathComponent().appendingPathComponent("\(stem)-labels.txt").path,
            model.deletingLastPathComponent().appendingPathComponent("labels.txt").path,
        ]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            if let explicitPath { throw HeatmapInputError(path: explicitPath, reason: "no such file") }
            names = recorded
            self.path = nil
            return
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HeatmapInputError(path: path, reason: "not UTF-8 text")
        }
        self.path = path
        names = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .reversed().drop { $0.isEmpty }.reversed()
    }

    /// Refuses names whose count is not the model's number of classes.
    func checkCount(classes: Int) throws {
        guard let names, names.count != classes else { return }
        throw HeatmapInputError(path: path ?? "the class names the model file records",
                                reason: "has \(names.count) names but the model has \(classes) classes; give one name per line, in class order")
    }

    /// `name` as it goes into file names: letters, digits, `-` and `_` kept, anything else `_`.
    static func fileSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    func name(_ index: Int) -> String {
        guard let names, index < names.count, !names[index].isEmpty else { return String(index) }
        return names[index]
    }

    /// The index of a class given by number or name.
    func index(of requested: String, classes: Int) throws -> Int {
        if let index = Int(requested) {
            guard (0..<classes).contains(index) else {
                throw HeatmapInputError(path: "--class", reason: "class \(index) is out of range: the model has classes 0 to \(classes - 1)")
            }
            return index
        }
        guard let index = names?.firstIndex(of: requested), index < classes else {
            let known = names.map { $0.prefix(classes).joined(separator: ", ") } ?? "no labels file; use class numbers 0 to \(classes - 1)"
            throw HeatmapInputError(path: "--class", reason: "no class named '\(requested)'; known: \(known)")
        }
        return index
    }
}
