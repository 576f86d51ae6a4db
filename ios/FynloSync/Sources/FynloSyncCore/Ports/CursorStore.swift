/// Where the next pull continues. The cursor only moves inside
/// ``ChangeApplier/applyPulled(_:)``, in the transaction that applies the page.
public protocol CursorStore: Sendable {
    func pullPosition() async throws -> PullPosition
}
