import FCNDiagnostics

/// Why a slide could not be opened, read or chosen from, or a slide output not written. Every
/// case names the file and says what would work.
public enum SlideError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    /// Neither OpenSlide nor libtiff recognises the file.
    case unsupportedFormat(path: String)
    /// The file is of a known format but its contents are damaged or cut short.
    case unreadable(path: String, reason: String)
    case levelOutOfRange(path: String, level: Int, levels: Int)
    /// `--mpp` on a slide that records no resolution.
    case noResolution(path: String)
    /// `--mpp` finer than the slide's finest level, or between levels with none close enough.
    case noLevel(path: String, mpp: Double, available: [Double])
    /// Tiles or strips too large to decode one at a time within bounded memory.
    case blocksTooLarge(path: String, width: Int, height: Int)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path): no such file"
        case .unsupportedFormat(let path):
            "\(path): not a slide or TIFF that OpenSlide or libtiff can read (OpenSlide formats: SVS, NDPI, MRXS, SCN, BIF, VMS, tiled TIFF; libtiff: tiled or striped TIFF)"
        case .unreadable(let path, let reason): "\(path): cannot read the slide (\(reason)); the file may be truncated or damaged"
        case .levelOutOfRange(let path, let level, let levels):
            "\(path): --level \(level) is out of range: the slide has levels 0 to \(levels - 1)"
        case .noResolution(let path):
            "\(path): the slide records no microns per pixel, so --mpp cannot choose a level; use --level N instead"
        case .noLevel(let path, let mpp, let available):
            "\(path): no level at --mpp \(mpp) (levels have \(available.map { String(format: "%.4g", $0) }.joined(separator: ", ")) µm/px); "
                + "give one of those or --level N"
        case .blocksTooLarge(let path, let width, let height):
            "\(path): its tiles or strips are \(width)×\(height) pixels, too large to decode one at a time; "
                + "re-save it tiled (for example: vips tiffsave IN OUT.tif --tile --pyramid)"
        case .unwritable(let path, let reason): "\(path): cannot write (\(reason))"
        }
    }
}
