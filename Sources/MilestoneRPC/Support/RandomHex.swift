/// `bytes` random bytes from the system's generator, as lowercase hex: tokens, keys, temporary names.
package func randomHex(bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    var text = ""
    text.reserveCapacity(bytes * 2)
    for _ in 0..<bytes {
        let byte = UInt8.random(in: .min ... .max, using: &generator)
        text += (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }
    return text
}
