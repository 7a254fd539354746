import CotflowCore
import Foundation

/// A shard `i/N` of a sweep: the points with `index % N == i` (0 <= i < N).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole grid, `0/1`.
    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) {
        self.index = uncheckedIndex
        self.count = count
    }

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw ShardError.countBelowOne(count) }
        guard index >= 0, index < count else {
            throw ShardError.indexOutOfRange(index: index, count: count)
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Parses `i/N`.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let parts = t.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError.syntax(text)
        }
        try self.init(index: i, count: n)
    }

    /// The shard of a SLURM array task, or nil when `SLURM_ARRAY_TASK_ID` or
    /// `SLURM_ARRAY_TASK_COUNT` is unset. The index is `(ID - MIN) / STEP` with
    /// `SLURM_ARRAY_TASK_MIN` (default 0) and `SLURM_ARRAY_TASK_STEP` (default 1), so that arrays
    /// such as `--array=1-8` or `--array=0-14:2` give shards 0..N-1.
    public static func fromEnvironment(_ environment: [String: String]) throws -> Shard? {
        guard let idText = environment["SLURM_ARRAY_TASK_ID"], let countText = environment["SLURM_ARRAY_TASK_COUNT"] else {
            return nil
        }
        func integer(_ key: String, _ text: String) throws -> Int {
            guard let x = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ShardError.environmentNotInteger(key: key, text: text)
            }
            return x
        }
        let id = try integer("SLURM_ARRAY_TASK_ID", idText)
        let count = try integer("SLURM_ARRAY_TASK_COUNT", countText)
        let min = try environment["SLURM_ARRAY_TASK_MIN"].map { try integer("SLURM_ARRAY_TASK_MIN", $0) } ?? 0
        let step = try environment["SLURM_ARRAY_TASK_STEP"].map { try integer("SLURM_ARRAY_TASK_STEP", $0) } ?? 1
        guard step >= 1 else { throw ShardError.stepBelowOne(step) }
        // Any integers may come from the environment: an overflowing offset is off the grid too.
        let (offset, overflow) = id.subtractingReportingOverflow(min)
        guard !overflow, offset >= 0, offset % step == 0 else {
            throw ShardError.taskOffGrid(id: id, min: min, step: step)
        }
        do {
            return try Shard(index: offset / step, count: count)
        } catch {
            throw ShardError.slurmTask(id: id, min: min, count: count, reason: "\(error)")
        }
    }

    /// `text` (`i/N`) when given, else the SLURM array task from `environment`, else the whole grid.
    public static func resolve(_ text: String?, environment: [String: String]) throws -> Shard {
        if let text { return try Shard(parsing: text) }
        return try fromEnvironment(environment) ?? .whole
    }

    public func contains(_ pointIndex: Int) -> Bool { pointIndex % count == index }

    /// The indices of the grid's points in this shard, in order.
    public func indices(in grid: SweepGrid) -> [Int] {
        Array(stride(from: index, to: grid.count, by: count))
    }

    /// `shard-<i>-of-<N>`, the stem of the shard's output files.
    public var fileStem: String { "shard-\(index)-of-\(count)" }

    public var description: String { "\(index)/\(count)" }
}
