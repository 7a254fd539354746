/// An exact number is recorded as its text ("20/31", "-3"), which `Rational.parse` reads back exactly.
extension Rational: Codable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let value = Rational.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an exact number such as 20/31")
        }
        self = value
    }
}
