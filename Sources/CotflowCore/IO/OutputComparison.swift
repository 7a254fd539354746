import Foundation

/// Compares the JSON and CSV files two runs wrote (`cotflow rerun`): JSON numbers and CSV cells
/// within a relative tolerance, everything else exactly; keys that differ by nature are skipped.
package struct OutputComparison: Sendable {
    /// Keys that differ between runs by nature.
    package static let ignoredKeys: Set<String> = ["seconds", "command", "arguments", "out"]

    /// Largest relative difference of two numbers counted as equal (0: bit for bit).
    package let tolerance: Double
    /// The files compared, in name order.
    package private(set) var compared: [String] = []
    /// Figure data of `original` (not compared: a rerun draws no figures), in name order.
    package private(set) var figureData: [String] = []
    /// One line per difference.
    package private(set) var differences: [String] = []

    package init(tolerance: Double) { self.tolerance = tolerance }

    /// Compares every `.json`, `.csv` and `.tsv` file of `original` with the file of that name in
    /// `rerun`, except figure data (`X.tsv` beside its script `X.gp`, or `*_data.csv`).
    package init(original: String, rerun: String, tolerance: Double) {
        self.init(tolerance: tolerance)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: original)) ?? []).sorted()
        func isFigureData(_ name: String) -> Bool {
            name.hasSuffix("_data.csv") || (name.hasSuffix(".tsv") && names.contains(String(name.dropLast(4)) + ".gp"))
        }
        for name in names where [".json", ".csv", ".tsv"].contains(where: name.hasSuffix) {
            if isFigureData(name) { figureData.append(name); continue }
            let a = (original as NSString).appendingPathComponent(name), b = (rerun as NSString).appendingPathComponent(name)
            guard let left = FileManager.default.contents(atPath: a) else { continue }
            guard let right = FileManager.default.contents(atPath: b) else { differences.append("\(name): not written by the rerun"); continue }
            compared.append(name)
            if name.hasSuffix(".json") {
                let l = try? JSONInput.parse(left, source: a), r = try? JSONInput.parse(right, source: b)
                guard let l, let r else { differences.append("\(name): not valid JSON"); continue }
                compareJSON(l, r, path: name)
            } else {
                compareCSV(String(decoding: left, as: UTF8.self), String(decoding: right, as: UTF8.self), name: name,
                           separator: name.hasSuffix(".tsv") ? "\t" : ",")
            }
        }
    }

    package var reproduces: Bool { differences.isEmpty }

    package func equal(_ a: Double, _ b: Double) -> Bool {
        if a == b || (a.isNaN && b.isNaN) { return true }
        return abs(a - b) <= tolerance * max(abs(a), abs(b))
    }

    /// Two parsed JSON values (`JSONInput.parse`, numbers exact); `path` names the place in messages.
    package mutating func compareJSON(_ a: Any, _ b: Any, path: String) {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            for key in Set(x.keys).union(y.keys).sorted() where !Self.ignoredKeys.contains(key) {
                guard let xv = x[key], let yv = y[key] else { differences.append("\(path).\(key): present in only one run"); continue }
                compareJSON(xv, yv, path: "\(path).\(key)")
            }
        case let (x as [Any], y as [Any]):
            guard x.count == y.count else { differences.append("\(path): \(x.count) against \(y.count) entries"); return }
            for i in x.indices { compareJSON(x[i], y[i], path: "\(path)[\(i)]") }
        case let (x as String, y as String):
            if x != y { differences.append("\(path): \"\(x)\" against \"\(y)\"") }
        case let (x as NSNumber, y as NSNumber):
            if !equal(x.doubleValue, y.doubleValue) { differences.append("\(path): \(x) against \(y)") }
        case (is NSNull, is NSNull):
            break
        default:
            differences.append("\(path): \(a) against \(b)")
        }
    }

    /// Two CSV (or TSV) texts, line by line and cell by cell.
    package mutating func compareCSV(_ a: String, _ b: String, name: String, separator: Character = ",") {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false), y = b.split(separator: "\n", omittingEmptySubsequences: false)
        guard x.count == y.count else { differences.append("\(name): \(x.count) against \(y.count) lines"); return }
        for (line, (l, r)) in zip(x, y).enumerated() where l != r {
            let lc = l.split(separator: separator, omittingEmptySubsequences: false), rc = r.split(separator: separator, omittingEmptySubsequences: false)
            let same = lc.count == rc.count && zip(lc, rc).allSatisfy { p, q in
                p == q || { if let u = Double(p), let v = Double(q) { return equal(u, v) }; return false }()
            }
            if !same { differences.append("\(name), line \(line + 1): '\(l.prefix(80))' against '\(r.prefix(80))'") }
        }
    }
}
