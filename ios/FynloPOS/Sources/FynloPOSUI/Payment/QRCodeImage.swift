#if canImport(SwiftUI)
import SwiftUI

#if canImport(CoreImage) && canImport(ImageIO)
import CoreImage
import ImageIO
#endif

/// The pay-by-bank QR: the server's PNG when it was fetched (``PaymentFlowModel/qrImage``),
/// else drawn here from the link (``BankQR/link``) with Core Image's QR generator. Drawn
/// with nearest-neighbour scaling so phone cameras read it at any size.
struct QRCodeImage: View {
    let png: Data?
    let link: String?

    var body: some View {
        if let image = cgImage {
            Image(decorative: image, scale: 1)
                .interpolation(.none)
                .resizable()
                .scaledToFit()
                .accessibilityLabel("Pay-by-bank QR code")
        } else {
            ProgressView()
        }
    }

    private var cgImage: CGImage? {
        #if canImport(CoreImage) && canImport(ImageIO)
        if let png, let source = CGImageSourceCreateWithData(png as CFData, nil),
            let image = CGImageSourceCreateImageAtIndex(source, 0, nil)
        {
            return image
        }
        guard let link, let filter = CIFilter(name: "CIQRCodeGenerator") else { return nil }
        filter.setValue(Data(link.utf8), forKey: "inputMessage")
        filter.setValue("M", forKey: "inputCorrectionLevel")
        guard let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 10, y: 10)) else { return nil }
        return CIContext().createCGImage(output, from: output.extent)
        #else
        return nil
        #endif
    }
}
#endif
