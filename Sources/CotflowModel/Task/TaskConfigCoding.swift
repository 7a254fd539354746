import Foundation

/// A task is recorded by what defines it (d, n, k, eta and a covariance other than the identity);
/// decoding validates it as `init(d:n:k:eta:covariance:)` does and derives the Cholesky factor again.
extension TaskConfig: Codable {
    private enum CodingKeys: String, CodingKey { case d, n, k, eta, covariance }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(d, forKey: .d); try c.encode(n, forKey: .n); try c.encode(k, forKey: .k); try c.encode(eta, forKey: .eta)
        try c.encodeIfPresent(covariance, forKey: .covariance)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(d: try c.decode(Int.self, forKey: .d), n: try c.decode(Int.self, forKey: .n), k: try c.decode(Int.self, forKey: .k),
                      eta: try c.decode(Double.self, forKey: .eta), covariance: try c.decodeIfPresent([Double].self, forKey: .covariance))
    }
}
