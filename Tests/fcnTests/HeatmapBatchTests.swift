import Foundation
import Testing
import _FCNTestSupport

/// `fcn heatmap` as a batch tool: result names, overwrites, resume, shards, the index, signals
/// and strict inputs, each run through the binary as a user would (issue 12, issue 13 item 4).
@Suite struct HeatmapBatchTests {
    let scratch = try! TemporaryDirectory()
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let scene = Fixtures.repositoryRoot.appendingPathComponent("models/demo-scene.png").path

    /// Copies the demo scene to each relative path under the scratch folder; returns the paths.
    private func scenes(_ relatives: [String]) throws -> [String] {
        try relatives.map { relative in
            let path = scratch.path(relative)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: scene, toPath: path)
            return path
        }
    }

    /// Every file under `folder`, relative to it, hidden ones included.
    private func files(under folder: String) -> Set<String> {
        Set((FileManager.default.subpaths(atPath: folder) ?? []).filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        })
    }

    /// The index's lines as objects, without their timings (which differ from run to run).
    private func indexLines(_ folder: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: folder + "/index.jsonl", encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            var object = try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            object["timings_ms"] = nil
            return object
        }
    }

    /// Whether every manifest under `folder` lists files that all exist, and every file but the
    /// index belongs to some manifest: the folder agrees with its manifests.
    private func expectConsistent(_ folder: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var owned: Set<String> = [BatchIndexName]
        for manifest in files(under: folder) where manifest.hasSuffix(".json") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + manifest))) as? [String: Any])
            let listed = try #require(object["files"] as? [String], sourceLocation: sourceLocation)
            let directory = (manifest as NSString).deletingLastPathComponent
            owned.insert(manifest)
            for file in listed {
                let relative = directory.isEmpty ? file : directory + "/" + file
                #expect(FileManager.default.fileExists(atPath: folder + "/" + relative), "\(manifest) lists missing \(file)", sourceLocation: sourceLocation)
                owned.insert(relative)
            }
        }
        let stray = files(under: folder).subtracting(owned)
        #expect(stray.isEmpty, "files no manifest lists: \(stray.sorted())", sourceLocation: sourceLocation)
    }

    private let BatchIndexName = "index.jsonl"

    // MARK: - Names

    @Test func inputsWithTheSameNameGetMirroredResultNames() throws {
        let inputs = try scenes(["a/scene.png", "b/scene.png", "digits.png", "digits.PNG"])
        let out = scratch.path("out")
        let result = try CommandRunner.run(["heatmap", digits] + inputs + ["-o", out, "--class", "7"])
        #expect(result.status == 0, "\(result.standardError)")
        for manifest in ["a/scene.json", "b/scene.json", "digits.png.json", "digits.PNG.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + manifest), "\(manifest) missing")
        }
        let images = try ["a/scene.json", "b/scene.json"].map { manifest in
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + manifest))) as? [String: Any])["image"] as? String
        }
        #expect(images == [inputs[0], inputs[1]])
        #expect(result.standardOutput.split(separator: "\n").count == 4)
        try expectConsistent(out)
    }

    // MARK: - Overwrites

    @Test func anEarlierRunIsNotOverwrittenUnlessAskedAndStaleClassFilesGo() throws {
        let inputs = try scenes(["scene.png"])
        let out = scratch.path("out")
        #expect(try CommandRunner.run(["heatmap", digits] + inputs + ["-o", out, "--class", "7", "--class", "3"]).status == 0)
        let before = files(under: out)
        try CommandRunner.expectOneLineError(["heatmap", digits] + inputs + ["-o", out, "--class", "1", "--quiet"],
                                             mentions: ["scene.json exists", "--overwrite", "--resume"])
        #expect(files(under: out) == before)
        let again = try CommandRunner.run(["heatmap", digits] + inputs + ["-o", out, "--class", "1", "--overwrite"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(files(under: out) == ["index.jsonl", "scene.1.heatmap.png", "scene.1.overlay.png", "scene.grid.npy", "scene.json"])
        try expectConsistent(out)
    }

    @Test func convertRefusesAnExistingOutputUnlessAsked() throws {
        let target = scratch.path("lenet-fcn.h5")
        #expect(try CommandRunner.run(["convert", digits, "-o", target]).status == 0)
        let written = try Data(contentsOf: URL(fileURLWithPath: target))
        try CommandRunner.expectOneLineError(["convert", digits, "-o", target], mentions: ["exists", "--overwrite"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == written)
        #expect(try CommandRunner.run(["convert", digits, "-o", target, "--overwrite"]).status == 0)
    }

    // MARK: - Resume, folders, shards, index

    @Test func resumeSkipsCompleteResultsAndRedoesIncompleteOnes() throws {
        _ = try scenes(["in/one.png", "in/two.png", "in/three.png"])
        let out = scratch.path("out")
        #expect(try CommandRunner.run(["heatmap", digits, scratch.path("in"), "-o", out, "--class", "7"]).status == 0)
        unlink(out + "/two.7.overlay.png")
        let resumed = try CommandRunner.run(["heatmap", digits, scratch.path("in"), "-o", out, "--class", "7", "--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardOutput.split(separator: "\n").count == 1 && resumed.standardOutput.contains("two.png: wrote"))
        #expect(resumed.standardError.contains("2 of 3 inputs already have complete results"))
        let statuses = try indexLines(out).suffix(3).map { "\($0["result"]!) \($0["status"]!)" }
        #expect(Set(statuses) == ["one skipped", "three skipped", "two ok"])
        try expectConsistent(out)
    }

    @Test func aFolderIsWalkedWithGlobInSortedOrder() throws {
        _ = try scenes(["in/b.png", "in/sub/a.png", "in/c.jpg.png", "in/skip.png"])
        let out = scratch.path("in/out")
        let result = try CommandRunner.run(["heatmap", digits, scratch.path("in"), "-o", out, "--class", "7", "--glob", "[bs]*.png"])
        #expect(result.status == 0, "\(result.standardError)")
        let order = result.standardOutput.split(separator: "\n").map { $0.prefix { $0 != ":" } }
        #expect(order == [scratch.path("in/b.png"), scratch.path("in/skip.png"), scratch.path("in/sub/a.png")].map { Substring($0) })
        #expect(FileManager.default.fileExists(atPath: out + "/sub/a.json"))
    }

    @Test(arguments: ["3/2", "0/0", "two/3"])
    func badShardSpecsGetOneUsageLine(spec: String) throws {
        let inputs = try scenes(["scene.png"])
        let out = scratch.path("out")
        let result = try CommandRunner.run(["heatmap", digits] + inputs + ["-o", out, "--shard", spec])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--shard \(spec)"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func shardsRunAtOnceIntoOneFolderEqualOneFullRun() throws {
        _ = try scenes((1...4).map { "in/scene\($0).png" })
        let full = scratch.path("full"), sharded = scratch.path("sharded")
        let arguments = ["heatmap", digits, scratch.path("in"), "--class", "7"]
        #expect(try CommandRunner.run(arguments + ["-o", full]).status == 0)
        let shards = try (0..<3).map { try CommandRunner.start(arguments + ["-o", sharded, "--shard", "\($0)/3"]) }
        for shard in shards { #expect(shard.finish().status == 0) }
        #expect(files(under: sharded) == files(under: full))
        func sorted(_ lines: [[String: Any]]) -> [String] {
            lines.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self)
                .replacingOccurrences(of: "sharded", with: "full") }.sorted()
        }
        #expect(sorted(try indexLines(sharded)) == sorted(try indexLines(full)))
        #expect(try indexLines(full).count == 4)
        try expectConsistent(sharded)
    }

    // MARK: - Signals

    /// Runs four images, signals after `afterLines` "wrote" lines plus `delay` seconds; checks the
    /// exit status, the one stop line, that every image is complete or absent with no
    /// temporaries, and that `--resume` then finishes the batch.
    @Test(arguments: [(SIGINT, 1, 0.0), (SIGTERM, 1, 0.0), (SIGTERM, 2, 0.1), (SIGINT, 0, 0.8)])
    func aSignalLeavesOnlyCompleteResults(signal: Int32, afterLines: Int, delay: Double) throws {
        _ = try scenes((1...4).map { "in/s\($0).png" })
        let out = scratch.path("out")
        let arguments = ["heatmap", digits, scratch.path("in"), "-o", out, "--class", "7", "--class", "3"]
        let run = try CommandRunner.start(arguments)
        run.waitForLines(afterLines)
        Thread.sleep(forTimeInterval: delay)
        run.signal(signal)
        let result = run.finish()
        if result.status != 0 {
            #expect(result.status == 128 + signal, "\(result.standardError)")
            let message = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(message.hasPrefix("Stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM"): ") && !message.contains("\n"), "\(message)")
        }
        let written = result.standardOutput.split(separator: "\n").count
        #expect(written >= afterLines)
        let manifests = files(under: out).filter { $0.hasSuffix(".json") }
        #expect(manifests.count == written)
        #expect(!files(under: out).contains { $0.hasPrefix(".") || $0.contains("/.") || $0.hasSuffix(".partial") }, "\(files(under: out))")
        try expectConsistent(out)
        let resumed = try CommandRunner.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(files(under: out).filter { $0.hasSuffix(".json") }.count == 4)
        try expectConsistent(out)
    }

    // MARK: - Strict inputs

    @Test func classAndTopTogetherAreRefused() throws {
        let inputs = try scenes(["scene.png"])
        let result = try CommandRunner.run(["heatmap", digits] + inputs + ["-o", scratch.path("out"), "--class", "7", "--top", "2"])
        #expect(result.status == 64 && result.standardError.contains("--class and --top"), "\(result.standardError)")
    }

    @Test func aRepeatedClassIsDrawnOnceWithANote() throws {
        let inputs = try scenes(["scene.png"])
        let out = scratch.path("out")
        let result = try CommandRunner.run(["heatmap", digits] + inputs + ["-o", out, "--class", "7", "--class", "7"])
        #expect(result.status == 0 && result.standardError.contains("--class 7 is given more than once"), "\(result.standardError)")
        #expect(files(under: out).filter { $0.hasSuffix(".heatmap.png") } == ["scene.7.heatmap.png"])
    }

    @Test func zeroStandardDeviationNamesTheOption() throws {
        let inputs = try scenes(["scene.png"])
        let result = try CommandRunner.run(["heatmap", digits] + inputs + ["--std", "0", "-o", scratch.path("out")])
        #expect(result.status == 64 && result.standardError.contains("--std 0"), "\(result.standardError)")
    }

    @Test func swappedArgumentsAreDetected() throws {
        let inputs = try scenes(["scene.png"])
        let result = try CommandRunner.run(["heatmap", inputs[0], digits, "-o", scratch.path("out")])
        #expect(result.status == 64 && result.standardError.contains("the model comes first"), "\(result.standardError)")
    }

    @Test func anExistingFileAsOutputSaysWhy() throws {
        let inputs = try scenes(["scene.png"])
        #expect(FileManager.default.createFile(atPath: scratch.path("taken"), contents: Data()))
        try CommandRunner.expectOneLineError(["heatmap", digits] + inputs + ["-o", scratch.path("taken")], mentions: ["existing file", "-o"])
    }

    @Test func aFailedRunLeavesNoOutputFolderAndOneLine() throws {
        let broken = scratch.path("broken.png")
        try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("images/truncated.png"))).write(to: URL(fileURLWithPath: broken))
        let out = scratch.path("out")
        let message = try CommandRunner.expectOneLineError(["heatmap", digits, broken, "-o", out, "--quiet"], mentions: ["broken.png"])
        #expect(!message.contains("of 1 images"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func aMissingInputIsRefusedBeforeAnyWork() throws {
        let inputs = try scenes(["scene.png"])
        let out = scratch.path("out")
        try CommandRunner.expectOneLineError(["heatmap", digits] + inputs + [scratch.path("nope.png"), "-o", out], mentions: ["nope.png: no such file or folder"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func meanAndLabelCountsMustMatchTheModel() throws {
        let inputs = try scenes(["scene.png"])
        let out = scratch.path("out")
        try CommandRunner.expectOneLineError(["heatmap", digits] + inputs + ["--mean", "0.5,0.5", "-o", out], mentions: ["--mean 0.5,0.5", "2 values", "1 channel"])
        let labels = scratch.path("labels.txt")
        try "a\nb\n".write(toFile: labels, atomically: true, encoding: .utf8)
        try CommandRunner.expectOneLineError(["heatmap", digits] + inputs + ["--labels", labels, "-o", out], mentions: ["2 names", "11 classes"])
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func aMistypedSubcommandGetsASuggestion() throws {
        let result = try CommandRunner.run(["heatmpa", digits, scene])
        #expect(result.status == 64 && result.standardError.contains("Did you mean 'heatmap'?"), "\(result.standardError)")
    }
}
