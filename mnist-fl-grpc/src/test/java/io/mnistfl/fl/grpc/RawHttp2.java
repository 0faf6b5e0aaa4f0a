package io.mnistfl.fl.grpc;

import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2DataFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameCodec;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameStream;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2HeadersFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ResetFrame;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2SettingsFrame;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 connection over mutual TLS that speaks frames as a hostile peer would, ignoring the
 * server's stream limit: it opens Connect calls, sends partial messages and resets streams, and
 * records what the server answers (resets, trailers, GOAWAY, the connection closing).
 */
final class RawHttp2 implements AutoCloseable {
  /** gRPC's status and message in trailers, and RST_STREAM codes, by stream id. */
  final Map<Integer, String> endings = new ConcurrentHashMap<>();

  /** The GOAWAY frames' error codes. */
  final List<Long> goAways = new CopyOnWriteArrayList<>();

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final CountDownLatch settings = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);
  private final Http2FrameCodec codec;
  private final Frames frames = new Frames();
  private final Channel channel;

  RawHttp2(int port, TlsFiles tls) throws Exception {
    SslContext ssl =
        SslContextBuilder.forClient()
            .keyManager(tls.certificateChain().toFile(), tls.privateKey().toFile())
            .trustManager(tls.trustedCa().toFile())
            .applicationProtocolConfig(
                new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    ApplicationProtocolNames.HTTP_2))
            .build();
    codec = Http2FrameCodecBuilder.forClient().build();
    channel =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(ssl.newHandler(ch.alloc(), "localhost", port), codec, frames);
                  }
                })
            .connect("127.0.0.1", port)
            .sync()
            .channel();
    channel.closeFuture().addListener(f -> closed.countDown());
  }

  /** Waits for the server's SETTINGS: the TLS and HTTP/2 handshakes are done. */
  boolean awaitSettings(long seconds) throws InterruptedException {
    return settings.await(seconds, TimeUnit.SECONDS);
  }

  /** Waits for the server to close the connection. */
  boolean awaitClosed(long seconds) throws InterruptedException {
    return closed.await(seconds, TimeUnit.SECONDS);
  }

  boolean isOpen() {
    return channel.isActive();
  }

  /** Opens a Connect call: its HEADERS, not flushed. */
  Http2FrameStream call() {
    Http2FrameStream s = frames.newStream();
    Http2Headers headers =
        new DefaultHttp2Headers()
            .method("POST")
            .scheme("https")
            .authority("localhost")
            .path("/mnistfl.v1.Federation/Connect")
            .add("content-type", "application/grpc")
            .add("te", "trailers");
    channel.write(new DefaultHttp2HeadersFrame(headers, false).stream(s));
    return s;
  }

  /** Starts a message that declares {@code declared} bytes and sends {@code sent} of them. */
  void partialMessage(Http2FrameStream s, int declared, int sent) {
    ByteBuf data = Unpooled.buffer(5 + sent);
    data.writeByte(0).writeInt(declared).writeZero(sent);
    channel.write(new DefaultHttp2DataFrame(data, false).stream(s));
  }

  /** Resets the stream, as a cancelled call does. */
  void reset(Http2FrameStream s) {
    channel.write(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(s));
  }

  /** Sends what was written, waiting while the socket's buffer is full. */
  void flush() throws InterruptedException {
    channel.flush();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (channel.isActive() && !channel.isWritable() && System.nanoTime() < end) {
      Thread.sleep(1);
    }
  }

  /** How many streams ended with a trailer or reset whose text contains {@code text}. */
  long endedWith(String text) {
    return endings.values().stream().filter(e -> e.contains(text)).count();
  }

  @Override
  public void close() {
    channel.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** Records the server's frames. */
  private final class Frames extends Http2ChannelDuplexHandler {
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2SettingsFrame) {
          // The server's stream limit binds an honest client; this one ignores it.
          codec.connection().local().maxActiveStreams(100_000);
          settings.countDown();
        } else if (msg instanceof Http2ResetFrame r) {
          endings.put(r.stream().id(), "RST_STREAM " + Http2Error.valueOf(r.errorCode()));
        } else if (msg instanceof Http2HeadersFrame h && h.isEndStream()) {
          endings.put(
              h.stream().id(),
              "grpc-status "
                  + h.headers().get("grpc-status")
                  + " "
                  + h.headers().get("grpc-message"));
        } else if (msg instanceof Http2GoAwayFrame g) {
          goAways.add(g.errorCode());
        } else if (msg instanceof Http2DataFrame d && d.initialFlowControlledBytes() > 0) {
          ctx.write(
              new DefaultHttp2WindowUpdateFrame(d.initialFlowControlledBytes()).stream(d.stream()));
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }
  }
}
