package import MilestoneWire

extension Metadata {
    package init(wireEntries: [RPCV1.MetadataEntry]) {
        self.init()
        self.reserveCapacity(wireEntries.count)
        for entry in wireEntries {
            self.add(entry.value, forKey: entry.key)
        }
    }

    /// The entries for the wire with `key` (lowercase) set to `value`, replacing its values: one array,
    /// made at its final size.
    package func wireEntries(setting key: String, to value: String) -> [RPCV1.MetadataEntry] {
        var wire: [RPCV1.MetadataEntry] = []
        wire.reserveCapacity(self.count + 1)
        for entry in self.entries where entry.key != key {
            var kept = RPCV1.MetadataEntry()
            kept.key = entry.key
            kept.value = entry.value
            wire.append(kept)
        }
        var set = RPCV1.MetadataEntry()
        set.key = key
        set.value = value
        wire.append(set)
        return wire
    }

    package var wireEntries: [RPCV1.MetadataEntry] {
        self.entries.map { entry in
            var wire = RPCV1.MetadataEntry()
            wire.key = entry.key
            wire.value = entry.value
            return wire
        }
    }

    /// Why metadata received from the wire are invalid, or nil: keys are 1-128 characters of lowercase
    /// `[a-z0-9-_.]`, at most 64 entries.
    package static func problem(in entries: [RPCV1.MetadataEntry]) -> String? {
        if entries.count > 64 {
            return "too many metadata entries (\(entries.count), at most 64)"
        }
        for entry in entries {
            let valid = !entry.key.isEmpty && entry.key.utf8.count <= 128 && entry.key.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
                    || byte == 0x2E
            }
            if !valid {
                return "invalid metadata key \"\(entry.key.prefix(40))\": keys are lowercase [a-z0-9-_.], 1-128 characters"
            }
        }
        return nil
    }
}
