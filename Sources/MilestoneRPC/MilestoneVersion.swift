/// The version of the Milestone services, CLI and wire contract implementation, as `--version` prints it.
public enum MilestoneVersion {
    public static let current = "0.3.0"
}
