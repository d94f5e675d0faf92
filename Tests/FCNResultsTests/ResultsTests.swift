import FCNResults
import Foundation
import Testing
import _FCNTestSupport

/// Naming, sharding and result-set commits, on real files in a temporary folder.
@Suite struct ResultsTests {
    let scratch = try! TemporaryDirectory()

    private func touch(_ relative: String) -> String {
        let path = scratch.path(relative)
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        return path
    }

    @Test func inputsThatShareANameMirrorTheirPathsOrKeepTheirExtension() throws {
        let inputs = try InputList.collect([touch("a/scene.png"), touch("b/scene.png"), touch("digits.jpg"), touch("digits.png"), touch("solo.png")])
        #expect(inputs.map(\.name) == ["a/scene", "b/scene", "digits.jpg", "digits.png", "solo"])
    }

    @Test func foldersAreWalkedInSortedOrderWithTheirRelativePaths() throws {
        _ = [touch("in/b.png"), touch("in/a/z.jpg"), touch("in/.hidden.png"), touch("in/notes.txt"), touch("in/out/old.png")]
        let inputs = try InputList.collect([scratch.path("in")], excluding: scratch.path("in/out"))
        #expect(inputs.map(\.name) == ["a/z", "b"])
        let pngs = try InputList.collect([scratch.path("in")], patterns: ["*.PNG"], excluding: scratch.path("in/out"))
        #expect(pngs.map(\.name) == ["b"])
        #expect(throws: ResultsError.emptyFolder(scratch.path("in"), patterns: ["*.tif"])) {
            try InputList.collect([scratch.path("in")], patterns: ["*.tif"])
        }
    }

    @Test func aFileGivenTwiceIsTakenOnce() throws {
        var notes: [String] = []
        let path = touch("x.png")
        let inputs = try InputList.collect([path, path], note: { notes.append($0) })
        #expect(inputs.count == 1 && notes.count == 1)
    }

    @Test(arguments: ["3/2", "0/0", "2/2", "-1/3", "a/b", "1", "1/2/3", ""])
    func badShardsAreRefused(text: String) {
        #expect(throws: ResultsError.self) { try Shard(parsing: text) }
    }

    @Test func shardsPartitionTheInputs() throws {
        let items = Array(0..<10)
        let shares = try (0..<3).map { try Shard(parsing: "\($0)/3").share(of: items) }
        #expect(shares == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]])
    }

    @Test func aCommitReplacesTheOldSetWholeAndTheManifestDecidesCompleteness() throws {
        let folder = try ResultFolder(path: scratch.path("out"))
        try folder.create()
        func commit(_ files: [String]) throws -> [String] {
            let staging = try folder.stage()
            for file in files { #expect(FileManager.default.createFile(atPath: staging.path + "/" + file, contents: Data(file.utf8))) }
            let manifest = try JSONSerialization.data(withJSONObject: ["files": files])
            return try folder.commit(staging, name: "a/scene", files: files, manifest: manifest)
        }
        #expect(try commit(["scene.1.png", "scene.2.png"]) == ["a/scene.1.png", "a/scene.2.png", "a/scene.json"])
        #expect(folder.isComplete("a/scene"))
        _ = try commit(["scene.3.png"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path("out/a"))) == ["scene.3.png", "scene.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("out")) == ["a"], "no staging folder left")
        unlink(scratch.path("out/a/scene.3.png"))
        #expect(!folder.isComplete("a/scene"))
        let input = BatchInput(path: "scene.png", name: "a/scene")
        #expect(try folder.plan([input], policy: .resume).todo == [input])
        #expect(throws: ResultsError.exists(manifest: folder.manifestPath(for: "a/scene"))) { try folder.plan([input], policy: .refuse) }
    }

    @Test func anExistingFileIsNotAnOutputFolder() {
        let file = touch("taken")
        #expect(throws: ResultsError.self) { try ResultFolder(path: file) }
    }

    @Test func indexLinesFromManyWritersNeverInterleave() async throws {
        let index = BatchIndex(folder: scratch.path(""))
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for line in 0..<50 {
                        try? index.append(BatchIndex.Entry(input: "\(writer)-\(line)", result: "r", status: .ok, outputs: Array(repeating: "f", count: 200),
                                                           timingsMs: [:], error: nil))
                    }
                }
            }
        }
        let lines = try String(contentsOfFile: index.path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 400)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }
}
