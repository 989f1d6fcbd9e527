package embedded

import (
	"context"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
)

// endStreamsOnStop is a gRPC stream interceptor that ends every client
// stream (watches, lease keepalives) once stopping is done. etcd's Close
// stops its gRPC server gracefully, which waits for open streams up to the
// request timeout (5 s + 2 election timeouts); a client still watching
// would make every Close take that long.
//
// The stream ends with etcd's Unavailable "server stopped" status, as on
// any server loss, so etcd clients reconnect and resume their watches.
// (The handler's own error, "watch canceled", has code Canceled, which
// makes clients end the watch instead.)
func endStreamsOnStop(stopping context.Context) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		unhook := context.AfterFunc(stopping, cancel)
		defer unhook()
		err := handler(srv, stream{ServerStream: ss, ctx: ctx})
		if stopping.Err() != nil {
			return rpctypes.ErrGRPCStopped
		}
		return err
	}
}

// stream is a grpc.ServerStream with another context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s stream) Context() context.Context { return s.ctx }
