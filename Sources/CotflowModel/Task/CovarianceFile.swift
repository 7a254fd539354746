import CotflowCore
import Foundation

/// A covariance file: a JSON array of d rows of d numbers, or of d*d numbers.
package enum CovarianceFile {
    /// The d x d covariance in `path` (`name`: as the user gave it), row-major. Every refusal is an
    /// input error naming the file, the task's own checks included (symmetric, positive definite,
    /// factorable: `choleskyFactor`, which `TaskConfig` runs again without knowing the file).
    package static func read(_ path: String, name: String? = nil, d: Int) throws -> [Double] {
        let object = try JSONInput.object(path, what: "covariance file")
        let what = "covariance file \(name ?? path)"
        guard let outer = object as? [Any] else {
            throw CotflowError.input("\(what) holds \(JSONInput.typeName(object)); expected an array of \(d) rows of \(d) numbers (or of \(d * d) numbers)")
        }
        var flat: [Any] = []
        if outer.allSatisfy({ $0 is [Any] }) && !outer.isEmpty {
            guard outer.count == d else { throw CotflowError.input("\(what) has \(outer.count) rows; expected \(d) for --d \(d)") }
            for (i, row) in outer.enumerated() {
                let r = row as! [Any]
                guard r.count == d else { throw CotflowError.input("\(what): row \(i + 1) has \(r.count) entries; expected \(d)") }
                flat += r
            }
        } else {
            guard outer.count == d * d else { throw CotflowError.input("\(what) has \(outer.count) entries; expected \(d) rows or \(d * d) numbers for --d \(d)") }
            flat = outer
        }
        let values = try flat.enumerated().map { i, value in
            guard let x = JSONInput.number(value) else {
                throw CotflowError.input("\(what): entry \(i + 1) (row \(i / d + 1), column \(i % d + 1)) is \(JSONInput.typeName(value)), not a number")
            }
            guard x.isFinite else { throw CotflowError.input("\(what): entry \(i + 1) is not finite in double precision") }
            return x
        }
        do {
            _ = try choleskyFactor(values, d: d)
        } catch let error as TaskError {
            var reason = Substring(error.description)
            if reason.hasPrefix("task: ") { reason = reason.dropFirst("task: ".count) }
            if reason.hasPrefix("covariance ") { reason = "the " + reason }
            throw CotflowError.input("\(what): \(reason)")
        }
        return values
    }
}
