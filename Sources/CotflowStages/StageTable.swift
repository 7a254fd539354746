import CotflowCore
import Foundation

/// Stage lists as text, CSV and JSON.
public enum StageTable {
    static let columns = ["index", "name", "t_start", "t_end", "loss_start", "loss_end", "mean_log_slope", "rate", "duration"]

    private static func values(_ s: Stage) -> [Double] {
        [s.tStart, s.tEnd, s.lossStart, s.lossEnd, s.meanLogSlope, s.rate, s.duration]
    }

    /// Aligned columns: index, name, t_start, t_end, loss_start, loss_end, mean_log_slope, rate, duration.
    public static func text(_ stages: [Stage], title: String) -> String {
        var rows = [columns]
        for s in stages { rows.append(["\(s.index)", s.label] + values(s).map(fmt)) }
        var widths = [Int](repeating: 0, count: columns.count)
        for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
        var lines = [title]
        if stages.isEmpty { lines.append("  (no stages)") }
        for row in rows where !stages.isEmpty {
            let cells = row.enumerated().map { c, cell -> String in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 1 ? cell + pad : pad + cell  // names left-aligned, numbers right-aligned
            }
            lines.append("  " + cells.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// Numeric table (the name, which is text, is left out; `csvText` has it):
    /// index,t_start,t_end,loss_start,loss_end,mean_log_slope,rate,duration.
    public static func csv(_ stages: [Stage]) -> CSVTable {
        var table = CSVTable(header: ["index", "t_start", "t_end", "loss_start", "loss_end", "mean_log_slope", "rate", "duration"], integerColumns: ["index"])
        for s in stages { table.append([Double(s.index)] + values(s)) }
        return table
    }

    /// CSV text with a header row and a quoted name column (RFC 4180):
    /// index,name,t_start,t_end,loss_start,loss_end,mean_log_slope,rate,duration.
    public static func csvText(_ stages: [Stage]) -> String {
        var s = columns.joined(separator: ",") + "\n"
        for stage in stages {
            let name = "\"" + stage.label.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            s += (["\(stage.index)", name] + values(stage).map(CSVTable.cell)).joined(separator: ",") + "\n"
        }
        return s
    }

    /// Array of objects with keys index, name, t_start, t_end, loss_start, loss_end, mean_log_slope, rate, duration.
    public static func json(_ stages: [Stage]) -> JSONValue {
        .array(stages.map { s in
            .object([("index", .int(s.index)), ("name", .string(s.label))]
                + zip(columns.dropFirst(2), values(s)).map { ($0, JSONValue.number($1)) })
        })
    }
}
