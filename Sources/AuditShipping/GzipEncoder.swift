import CZlib
import NIOCore
import Synchronization

/// Gzip for batch bodies (zlib's fastest level), from the body's bytes straight into the buffer
/// that is sent, with one zlib stream kept for the sink's life and reset for each body.
///
/// A stream made per batch allocated, and had the kernel zero, about 270 KB of state every
/// time, and the body was first copied whole into a `ByteBuffer` only to be read once: at a
/// batch of 400 events a second or more, that was most of a send's cost besides compressing.
///
/// `@unchecked Sendable`: the zlib stream is touched only under `lock`, one body at a time, and
/// lives on the heap, where zlib's pointer back to it stays valid.
final class GzipEncoder: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "gzip failed (zlib status \(code))" }
    }

    private let stream: UnsafeMutablePointer<z_stream>
    private let lock = Mutex(())

    init() throws {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Window bits 15 + 16: a gzip header and trailer around the deflate data.
        let status = deflateInit2_(
            stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            // Before `self.stream` is set: the deinitializer does not run for this instance.
            stream.deallocate()
            throw Failure(code: status)
        }
        self.stream = stream
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// `body`, gzip-compressed, in a buffer from `allocator`.
    func compress(_ body: [UInt8], allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        try lock.withLock { _ in
            guard deflateReset(stream) == Z_OK else { throw Failure(code: Z_STREAM_ERROR) }
            // The most the output can take, header and trailer included: one call does it all.
            let bound = Int(deflateBound(stream, UInt(body.count)))
            var output = allocator.buffer(capacity: bound)
            var status = Z_OK
            body.withUnsafeBufferPointer { input in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.pointee.avail_in = UInt32(input.count)
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                    stream.pointee.next_out = space.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = UInt32(space.count)
                    status = deflate(stream, Z_FINISH)
                    return space.count - Int(stream.pointee.avail_out)
                }
            }
            // No pointers into the body or the buffer stay behind.
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
            guard status == Z_STREAM_END else { throw Failure(code: status) }
            return output
        }
    }
}
