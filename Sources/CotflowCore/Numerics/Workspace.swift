import Foundation

/// Scratch memory of a hot loop, reused by every call: one buffer that grows to the largest size
/// asked for (so after the first call of a run nothing is allocated) and hands out consecutive
/// slices. Used by one thread at a time (borrowed from a `WorkspacePool`).
package final class Workspace {
    private var base: UnsafeMutablePointer<Double>
    private var capacity: Int
    private var used = 0

    package init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `count` doubles and hands out slices from the start again: slices taken
    /// before are invalid after this call.
    package func reset(reserving count: Int) {
        if count > capacity {
            base.deallocate()
            capacity = count
            base = .allocate(capacity: count)
        }
        used = 0
    }

    /// The next `count` doubles, uninitialised (within what `reset(reserving:)` reserved).
    package func take(_ count: Int) -> UnsafeMutablePointer<Double> {
        precondition(used + count <= capacity, "workspace: more taken than reserved")
        defer { used += count }
        return base + used
    }

    /// The next `count` doubles, zeroed.
    package func takeZeroed(_ count: Int) -> UnsafeMutablePointer<Double> {
        let p = take(count)
        p.update(repeating: 0, count: count)
        return p
    }
}

/// Workspaces for concurrent chunks: each chunk borrows one for its duration, so a run keeps as
/// many as ran at once (one per thread) and reuses them at every step. Safe for concurrent use.
package final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []

    package init() {}

    package func with<R>(_ body: (Workspace) throws -> R) rethrows -> R {
        lock.lock()
        let workspace = free.popLast() ?? Workspace()
        lock.unlock()
        defer {
            lock.lock()
            free.append(workspace)
            lock.unlock()
        }
        return try body(workspace)
    }
}
