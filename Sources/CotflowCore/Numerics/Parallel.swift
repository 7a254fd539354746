import Dispatch

/// Results written by concurrent iterations into distinct slots.
private final class Slots<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T?>
    let count: Int
    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: nil, count: max(count, 1))
    }
    deinit {
        pointer.deinitialize(count: max(count, 1))
        pointer.deallocate()
    }
}

/// Runs `body(i)` for `i in 0..<count` concurrently and returns the results in index order.
/// Callers split work into FIXED chunks (independent of the machine) and combine the results
/// in index order, so that outputs are bit-identical whatever the scheduling.
package func parallelMap<T>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    if count == 0 { return [] }
    if count == 1 { return [body(0)] }
    let slots = Slots<T>(count)
    DispatchQueue.concurrentPerform(iterations: count) { i in
        slots.pointer[i] = body(i)
    }
    return (0..<count).map { slots.pointer[$0]! }
}

/// Boxes a non-Sendable value that the caller guarantees is used by one thread at a time
/// (e.g. one random stream per chunk, each chunk processed by exactly one iteration).
package final class ChunkLocal<T>: @unchecked Sendable {
    public var value: T
    public init(_ value: T) { self.value = value }
}

/// Fixed chunks of `count` items of at most `size` each.
package func fixedChunks(_ count: Int, size: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
}

/// A pointer that concurrent iterations write through at disjoint places (the caller's guarantee).
package struct SharedPointer: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Double>?
    package init(_ pointer: UnsafeMutablePointer<Double>?) { self.pointer = pointer }
}
