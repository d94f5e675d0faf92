import FCNModel
import FCNTensorIO
import Foundation
import Testing
import _FCNTestSupport

/// `fcn heatmap` on slides: the files a slide run writes, the manifest's transform, and bad
/// slides refused in one line with nothing written.
@Suite struct HeatmapSlideTests {
    let scratch = try! TemporaryDirectory()
    let digits = Fixtures.repositoryRoot.appendingPathComponent("models/digits-lenet.h5").path
    let pyramid = Fixtures.path("slides/pyramid.tif")

    private func manifest(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func slideRunWritesGridPyramidsPreviewsAndTheTransform() throws {
        let folder = scratch.path("out")
        let result = try CommandRunner.run(["heatmap", digits, pyramid, "-o", folder, "--level", "2", "--class", "background",
                                            "--preview-size", "200", "--max-memory", "16", "-q"])
        #expect(result.status == 0, "\(result.standardError)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(files == ["index.jsonl", "pyramid.json", "pyramid.grid.npy", "pyramid.background.heatmap.tif",
                          "pyramid.background.heatmap.png", "pyramid.background.overlay.png"])
        let json = try manifest(folder + "/pyramid.json")
        #expect(json["format"] as? String == "openslide:generic-tiff")
        #expect(json["level"] as? Int == 2)
        #expect(json["downsample"] as? Double == 4)
        #expect(json["level_size"] as? [Int] == [384, 512])
        // Level 2 is 384 × 512: (384 − 28) / 4 + 1 = 90 rows, (512 − 28) / 4 + 1 = 122 columns.
        #expect(json["grid"] as? [Int] == [90, 122, 11])
        let grid = try NumPyFile.read(path: folder + "/pyramid.grid.npy")
        #expect(grid.shape == [1, 90, 122, 11])
        // Cell (i, j) is centred at level-2 pixel 4j + 13.5, which is level-0 pixel 4 · (4j + 13.5 + 0.5) − 0.5 = 16j + 55.5.
        let transform = try #require(json["cell_to_level0"] as? [String: Any])
        #expect(transform["matrix"] as? [[Double]] == [[16, 0, 55.5], [0, 16, 55.5]])
        #expect(transform["microns_matrix"] as? [[Double]] == [[8, 0, 27.75], [0, 8, 27.75]])
        #expect(json["micronsPerPixel"] == nil && json["microns_per_pixel"] as? [Double] == [0.5, 0.5])
        let pyramidInfo = try #require(json["pyramid"] as? [String: Any])
        #expect(pyramidInfo["levels"] as? [[Int]] == [[96, 128]])
        #expect(pyramidInfo["level0_pixels_per_pixel"] as? [Double] == [16, 16])
        let preview = try #require(json["classes"] as? [[String: Any]]).first
        #expect(preview?["overlay"] as? String == "pyramid.background.overlay.png")
        let index = try String(contentsOfFile: folder + "/index.jsonl", encoding: .utf8)
        #expect(index.contains("\"status\":\"ok\""))
    }

    /// The same slide at level 1 and level 2: a cell of level 2 and the level-1 cell whose
    /// centre the transforms put at the same level-0 point agree (the two levels are the same
    /// picture at two scales, so only nearly), which the transform places correctly only if it
    /// maps both to the same slide pixel.
    @Test func transformsOfTwoLevelsMeetAtTheSameSlidePixel() throws {
        var matrices: [[[Double]]] = []
        for level in ["1", "2"] {
            let folder = scratch.path("level\(level)")
            let result = try CommandRunner.run(["heatmap", digits, pyramid, "-o", folder, "--level", level, "--preview-size", "0", "-q"])
            #expect(result.status == 0, "\(result.standardError)")
            matrices.append(try #require(try manifest(folder + "/pyramid.json")["cell_to_level0"] as? [String: Any])["matrix"] as! [[Double]])
        }
        // Level 1 (downsample 2): x = 8j + 27.5; level 2: x = 16j + 55.5. Level-2 cell 3 is at 103.5 = level-1 cell 9.5.
        #expect(matrices[0] == [[8, 0, 27.5], [0, 8, 27.5]])
        #expect(matrices[1][0][0] * 3 + matrices[1][0][2] == matrices[0][0][0] * 9.5 + matrices[0][0][2])
    }

    /// Slides are recognised by content: a TIFF named .png takes the slide path.
    @Test func aSlideIsRecognisedByContentNotExtension() throws {
        let renamed = scratch.path("scan.png")
        try FileManager.default.copyItem(atPath: Fixtures.path("slides/striped.tif"), toPath: renamed)
        let folder = scratch.path("renamed")
        let result = try CommandRunner.run(["heatmap", digits, renamed, "-o", folder, "--preview-size", "0", "-q"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try manifest(folder + "/scan.json")["format"] as? String == "libtiff")
    }

    @Test func stripedTIFFGoesThroughLibtiffAndMppIsRefusedOnIt() throws {
        let folder = scratch.path("striped")
        let striped = Fixtures.path("slides/striped.tif")
        let result = try CommandRunner.run(["heatmap", digits, striped, "-o", folder, "--preview-size", "0", "-q"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try manifest(folder + "/striped.json")["format"] as? String == "libtiff")
        let refused = scratch.path("refused")
        try CommandRunner.expectOneLineError(["heatmap", digits, striped, "-o", refused, "--mpp", "0.5"],
                                             mentions: [striped, "records no microns per pixel", "--level"])
        #expect(!FileManager.default.fileExists(atPath: refused))
    }

    /// SIGTERM while the grid is being streamed (its file exists in the staging folder) leaves
    /// no grid, TIFF or manifest; `--resume` then writes the whole result set.
    @Test func sigtermDuringTheStreamLeavesNothingAndResumeFinishes() throws {
        let out = scratch.path("stopped")
        let arguments = ["heatmap", digits, pyramid, "-o", out, "--class", "0", "--preview-size", "0", "--max-memory", "8", "-q"]
        let run = try CommandRunner.start(arguments)
        var staged = false
        for _ in 0..<6000 where !staged {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            staged = entries.contains { entry in
                entry.hasPrefix(".fcn-staging")
                    && ((try? FileManager.default.contentsOfDirectory(atPath: out + "/" + entry)) ?? []).contains("pyramid.grid.npy")
            }
            if !staged { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(staged, "the run never staged its grid")
        run.signal(SIGTERM)
        let result = run.finish()
        #expect(result.status == 128 + SIGTERM, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("Stopped by SIGTERM: 0 of 1 images finished"), "\(result.standardError)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(left.allSatisfy { $0 == "index.jsonl" }, "\(left)")
        let resumed = try CommandRunner.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["index.jsonl", "pyramid.json", "pyramid.grid.npy", "pyramid.0.heatmap.tif"])
    }

    @Test(arguments: [
        ("truncated.tif", [] as [String], ["truncated.tif", "truncated or damaged"]),
        ("corrupt.tif", [], ["corrupt.tif", "cannot read the slide"]),
        ("not-a-slide.svs", [], ["not-a-slide.svs", "not a PNG or JPEG image, nor a slide"]),
        ("pyramid.tif", ["--level", "3"], ["pyramid.tif", "--level 3 is out of range", "levels 0 to 2"]),
        ("pyramid.tif", ["--mpp", "0.3"], ["pyramid.tif", "no level at --mpp 0.3", "0.5, 1, 2"]),
    ])
    func badSlidesFailInOneLineWithNothingWritten(file: String, options: [String], fragments: [String]) throws {
        let folder = scratch.path("bad-\(file)-\(options.count)")
        try CommandRunner.expectOneLineError(["heatmap", digits, Fixtures.path("slides/\(file)"), "-o", folder, "-q"] + options,
                                             mentions: fragments)
        #expect(!FileManager.default.fileExists(atPath: folder), "\(folder) was left behind")
    }
}
