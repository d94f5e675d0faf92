/// A deterministic share of a batch: shard `index` of `count` takes the inputs at positions
/// `index`, `index + count`, `index + 2·count`, … of the whole list. Shards are numbered from 0.
public struct Shard: Equatable, Sendable {
    public let index: Int
    public let count: Int

    /// Parses `I/N` with 0 ≤ I < N.
    public init(parsing text: String) throws(ResultsError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw .badShard(text, reason: "expected I/N, e.g. 0/4 for the first of 4 shards")
        }
        guard count >= 1 else { throw .badShard(text, reason: "the number of shards must be at least 1") }
        guard (0..<count).contains(index) else {
            throw .badShard(text, reason: "the shard index must be from 0 to \(count - 1) (shards are numbered from 0)")
        }
        self.index = index
        self.count = count
    }

    /// This shard's share of `items`, in their order.
    public func share<Item>(of items: [Item]) -> [Item] {
        items.enumerated().filter { $0.offset % count == index }.map(\.element)
    }
}
