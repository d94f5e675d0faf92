/// Where the reader announces each object just before libhdf5 touches it.
///
/// A process that reads untrusted files in a child (FCNIsolation) sends these names to its
/// parent, so that when libhdf5 crashes or hangs the parent can say which object it was reading.
/// Without an observer, reporting costs one check.
public enum HDF5ReadProgress {
    // Read and written only while holding `LibraryCalls`' lock.
    nonisolated(unsafe) private static var observer: ((String) -> Void)?

    /// Calls `observer` with the path of every group, dataset and attribute (`group@name`) the
    /// reader is about to open or read, from then on; nil stops.
    public static func observe(_ observer: ((String) -> Void)?) {
        LibraryCalls.serialized { Self.observer = observer }
    }

    /// Announces `object`; callers hold the libhdf5 lock.
    static func report(_ object: String) {
        observer?(object)
    }
}
