import MilestoneServiceRuntime
import Testing

@Suite("Service settings", .timeLimit(.minutes(1)))
struct ServiceSettingsTests {
    @Test("environment variable names follow swift-configuration's key rule")
    func names() {
        let description = ServiceSettings.Description(key: "milestone.dataDir", flag: nil, meaning: "", defaultValue: "")
        #expect(description.environmentVariable == "MILESTONE_DATA_DIR")
    }
}
