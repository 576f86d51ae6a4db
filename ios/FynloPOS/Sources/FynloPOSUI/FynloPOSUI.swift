#if canImport(SwiftUI)
import SwiftUI
import FynloPOSCore
#endif
