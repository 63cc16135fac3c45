//go:build cuda

package nccl

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The prototypes we call, as nccl.h (NCCL 2.x) declares them; enums are ints.
typedef int ncclResult_t;
typedef struct ncclComm *ncclComm_t;
typedef struct { char internal[128]; } ncclUniqueId;

static void *gt_lib;
static ncclResult_t (*gt_getVersion)(int *);
static ncclResult_t (*gt_getUniqueId)(ncclUniqueId *);
static ncclResult_t (*gt_commInitRank)(ncclComm_t *, int, ncclUniqueId, int);
static ncclResult_t (*gt_commDestroy)(ncclComm_t);
static ncclResult_t (*gt_commAbort)(ncclComm_t);
static ncclResult_t (*gt_commGetAsyncError)(ncclComm_t, ncclResult_t *);
static const char *(*gt_getErrorString)(ncclResult_t);
static const char *(*gt_getLastError)(ncclComm_t);
static ncclResult_t (*gt_allReduce)(const void *, void *, size_t, int, int, ncclComm_t, void *);
static ncclResult_t (*gt_broadcast)(const void *, void *, size_t, int, int, ncclComm_t, void *);

// gt_load opens path and finds every function; it returns NULL, or what went wrong (the
// loader's message, or the name of a missing function, in err).
static const char *gt_load(const char *path, char *err, size_t cap) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(err, cap, "%s", e ? e : "dlopen failed");
		return err;
	}
#define SYM(var, name) \
	if ((*(void **)&var = dlsym(h, name)) == NULL) { snprintf(err, cap, "%s has no function %s", path, name); dlclose(h); return err; }
	SYM(gt_getVersion, "ncclGetVersion")
	SYM(gt_getUniqueId, "ncclGetUniqueId")
	SYM(gt_commInitRank, "ncclCommInitRank")
	SYM(gt_commDestroy, "ncclCommDestroy")
	SYM(gt_commAbort, "ncclCommAbort")
	SYM(gt_commGetAsyncError, "ncclCommGetAsyncError")
	SYM(gt_getErrorString, "ncclGetErrorString")
	SYM(gt_getLastError, "ncclGetLastError")
	SYM(gt_allReduce, "ncclAllReduce")
	SYM(gt_broadcast, "ncclBroadcast")
#undef SYM
	gt_lib = h;
	return NULL;
}

// gt_where is the file the loader took the library from.
static void gt_where(char *out, size_t cap) {
	Dl_info info;
	out[0] = 0;
	if (dladdr(*(void **)&gt_getVersion, &info) && info.dli_fname) snprintf(out, cap, "%s", info.dli_fname);
}

static int gt_version(int *v) { return gt_getVersion(v); }
static int gt_unique_id(void *id) { return gt_getUniqueId((ncclUniqueId *)id); }
static int gt_init_rank(uintptr_t *comm, int nranks, const void *id, int rank) {
	ncclUniqueId u;
	ncclComm_t c = NULL;
	memcpy(&u, id, sizeof u);
	int r = gt_commInitRank(&c, nranks, u, rank);
	*comm = (uintptr_t)c;
	return r;
}
static int gt_destroy(uintptr_t c) { return gt_commDestroy((ncclComm_t)c); }
static int gt_abort(uintptr_t c) { return gt_commAbort((ncclComm_t)c); }
static int gt_async_error(uintptr_t c, int *e) { return gt_commGetAsyncError((ncclComm_t)c, e); }
static const char *gt_error_string(int r) { return gt_getErrorString(r); }
static const char *gt_last_error(uintptr_t c) { return gt_getLastError((ncclComm_t)c); }

// ncclFloat32 = 7, ncclSum = 0 (nccl.h).
static int gt_allreduce_sum_f32(uintptr_t buf, size_t n, uintptr_t c, uintptr_t stream) {
	return gt_allReduce((const void *)buf, (void *)buf, n, 7, 0, (ncclComm_t)c, (void *)stream);
}
static int gt_broadcast_f32(uintptr_t buf, size_t n, int root, uintptr_t c, uintptr_t stream) {
	return gt_broadcast((const void *)buf, (void *)buf, n, 7, root, (ncclComm_t)c, (void *)stream);
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// Soname is the file name NCCL 2 is loaded by.
const Soname = "libnccl.so.2"

// Lib is the loaded library. There is at most one per process.
type Lib struct {
	path    string
	version int
}

var (
	loadMu sync.Mutex
	loaded *Lib
)

// Load loads libnccl.so.2 (see the package documentation for where it looks) and
// returns it; later calls return the same Lib. Its error says what was tried and how to
// install NCCL.
func Load() (*Lib, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if loaded != nil {
		return loaded, nil
	}
	path := Soname
	if p := os.Getenv("GPUTRAIN_NCCL_LIB"); p != "" {
		path = p
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			path = filepath.Join(p, Soname)
		}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg [512]C.char
	if e := C.gt_load(cpath, &msg[0], C.size_t(len(msg))); e != nil {
		how := "NCCL ships in NVIDIA's PyPI wheel nvidia-nccl-cu13 (or -cu12) as site-packages/nvidia/nccl/lib/" + Soname +
			": set GPUTRAIN_NCCL_LIB to that file or add its directory to LD_LIBRARY_PATH"
		if path != Soname {
			how = "GPUTRAIN_NCCL_LIB=" + os.Getenv("GPUTRAIN_NCCL_LIB") + "; " + how
		}
		return nil, fmt.Errorf("nccl: cannot load %s: %s (%s)", path, C.GoString(e), how)
	}
	var where [4096]C.char
	C.gt_where(&where[0], C.size_t(len(where)))
	l := &Lib{path: C.GoString(&where[0])}
	if l.path == "" {
		l.path = path
	}
	var v C.int
	if r := C.gt_version(&v); r != 0 {
		return nil, resultErr("ncclGetVersion", r, 0)
	}
	l.version = int(v)
	loaded = l
	return l, nil
}

// Path is the file the library was loaded from.
func (l *Lib) Path() string { return l.path }

// Version is ncclGetVersion's code: major*10000 + minor*100 + patch (2.30.7 is 23007;
// before 2.9, major*1000 + minor*100 + patch).
func (l *Lib) Version() int { return l.version }

// VersionString is the version as "2.30.7".
func (l *Lib) VersionString() string {
	v := l.version
	if v >= 10000 {
		return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
	}
	return fmt.Sprintf("%d.%d.%d", v/1000, v/100%10, v%100)
}

// UniqueID is the token that joins the ranks of one communicator: rank 0 makes it
// (ncclGetUniqueId: it opens NCCL's bootstrap socket and names its address) and sends
// it to the others, which pass it to InitRank.
type UniqueID [128]byte

// UniqueID makes a new id (ncclGetUniqueId). It needs no GPU.
func (l *Lib) UniqueID() (UniqueID, error) {
	var id UniqueID
	if r := C.gt_unique_id(unsafe.Pointer(&id[0])); r != 0 {
		return id, resultErr("ncclGetUniqueId", r, 0)
	}
	return id, nil
}

// Comm is one rank's NCCL communicator.
type Comm struct {
	c    C.uintptr_t
	rank int
	size int
}

// InitRank joins the communicator of size ranks named by id as rank
// (ncclCommInitRank). Every rank calls it at the same time; it returns when all have.
// It uses the CUDA device of the calling thread's current context.
func (l *Lib) InitRank(size int, id UniqueID, rank int) (*Comm, error) {
	if size < 1 || rank < 0 || rank >= size {
		return nil, fmt.Errorf("nccl: rank %d of %d is not a rank", rank, size)
	}
	var c C.uintptr_t
	if r := C.gt_init_rank(&c, C.int(size), unsafe.Pointer(&id[0]), C.int(rank)); r != 0 {
		return nil, resultErr("ncclCommInitRank", r, 0)
	}
	return &Comm{c: c, rank: rank, size: size}, nil
}

// AllReduceSumFloat32 queues buf[i] = sum over ranks of buf[i] for n float32 at device
// address buf, in place, on stream (a CUstream; 0 is the legacy default stream).
func (c *Comm) AllReduceSumFloat32(buf uintptr, n int, stream uintptr) error {
	if r := C.gt_allreduce_sum_f32(C.uintptr_t(buf), C.size_t(n), c.c, C.uintptr_t(stream)); r != 0 {
		return resultErr("ncclAllReduce", r, c.c)
	}
	return nil
}

// BroadcastFloat32 queues buf = root's buf for n float32 at device address buf, in
// place, on stream.
func (c *Comm) BroadcastFloat32(buf uintptr, n int, root int, stream uintptr) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("nccl: broadcast: root %d is not a rank (size %d)", root, c.size)
	}
	if r := C.gt_broadcast_f32(C.uintptr_t(buf), C.size_t(n), C.int(root), c.c, C.uintptr_t(stream)); r != 0 {
		return resultErr("ncclBroadcast", r, c.c)
	}
	return nil
}

// AsyncError reports an error NCCL found while running queued collectives (a lost
// peer, a network failure), or nil (ncclCommGetAsyncError).
func (c *Comm) AsyncError() error {
	var e C.int
	if r := C.gt_async_error(c.c, &e); r != 0 {
		return resultErr("ncclCommGetAsyncError", r, c.c)
	}
	if e != 0 && e != 7 { // 7: ncclInProgress
		return resultErr("a queued collective", e, c.c)
	}
	return nil
}

// Destroy waits for the communicator's queued work and frees it (ncclCommDestroy).
func (c *Comm) Destroy() error {
	if c.c == 0 {
		return nil
	}
	r := C.gt_destroy(c.c)
	c.c = 0
	if r != 0 {
		return resultErr("ncclCommDestroy", r, 0)
	}
	return nil
}

// Abort frees the communicator without waiting, ending its queued work (ncclCommAbort).
func (c *Comm) Abort() error {
	if c.c == 0 {
		return nil
	}
	r := C.gt_abort(c.c)
	c.c = 0
	if r != 0 {
		return resultErr("ncclCommAbort", r, 0)
	}
	return nil
}

// resultErr names a failed call with NCCL's words for r and, where NCCL kept one, its
// last error message for comm (0: the last one of any communicator).
func resultErr(call string, r C.int, comm C.uintptr_t) error {
	msg := C.GoString(C.gt_error_string(r))
	if last := C.GoString(C.gt_last_error(comm)); last != "" {
		msg += ": " + last
	}
	return fmt.Errorf("nccl: %s: %s (ncclResult_t %d)", call, msg, int(r))
}
