// The transport floor: a bare Bun.listen server that answers every frame with its own args,
// through the same framing and msgpack codec as metad but with no semantics and no SQLite.
import { FrameDecoder, decodePayload, encodeValueFrame, FLAG_RESPONSE, CONNECTION_MAGIC } from "../../src/wire/index.ts";

const server = Bun.listen<{ decoder: FrameDecoder; sniffed: number }>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  socket: {
    open(socket) {
      socket.data = { decoder: new FrameDecoder(), sniffed: 0 };
    },
    data(socket, chunk) {
      let bytes: Uint8Array = chunk;
      if (socket.data.sniffed < CONNECTION_MAGIC.length) {
        const skip = Math.min(CONNECTION_MAGIC.length - socket.data.sniffed, bytes.length);
        socket.data.sniffed += skip;
        bytes = bytes.subarray(skip);
      }
      socket.data.decoder.push(new Uint8Array(bytes));
      const out: Uint8Array[] = [];
      for (const frame of socket.data.decoder) {
        const request = decodePayload(frame.payload) as { args: unknown };
        out.push(encodeValueFrame(frame.requestId, FLAG_RESPONSE, { ok: true, value: request.args }));
      }
      if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    },
  },
});
console.log(`echo ready on 127.0.0.1:${server.port}`);
