import ArgumentParser
import Foundation

extension Cotflow {
    /// `--v -0.5` and `--v-range -0.1,-0.05` become `--v=-0.5` and `--v-range=-0.1,-0.05`:
    /// argument-parser reads a token that starts with `-` as an option, so a negative number after
    /// `--name` is joined to it. Only tokens that are numbers or lists of numbers (digits, `.`, `e`,
    /// `,`, `/`, `:`, signs) are joined, never option names or file names.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for token in arguments {
            if let previous = out.last, previous.hasPrefix("--"), previous.count > 2, !previous.contains("="),
               isNegativeNumber(token) {
                out[out.count - 1] = previous + "=" + token
            } else {
                out.append(token)
            }
        }
        return out
    }

    static func isNegativeNumber(_ token: String) -> Bool {
        let scalars = Array(token.unicodeScalars)
        guard scalars.count >= 2, scalars[0] == "-", CharacterSet(charactersIn: "0123456789.").contains(scalars[1]) else { return false }
        let allowed = CharacterSet(charactersIn: "0123456789.eE+-,/:")
        return scalars.allSatisfy { allowed.contains($0) }
    }
}
