from stream_restore.v1 import restore_pb2 as _restore_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LiveState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIVE_STATE_UNSPECIFIED: _ClassVar[LiveState]
    LIVE_STATE_CONNECTING: _ClassVar[LiveState]
    LIVE_STATE_LIVE: _ClassVar[LiveState]
    LIVE_STATE_RECONNECTING: _ClassVar[LiveState]
    LIVE_STATE_STOPPING: _ClassVar[LiveState]
    LIVE_STATE_STOPPED: _ClassVar[LiveState]
    LIVE_STATE_FAILED: _ClassVar[LiveState]
LIVE_STATE_UNSPECIFIED: LiveState
LIVE_STATE_CONNECTING: LiveState
LIVE_STATE_LIVE: LiveState
LIVE_STATE_RECONNECTING: LiveState
LIVE_STATE_STOPPING: LiveState
LIVE_STATE_STOPPED: LiveState
LIVE_STATE_FAILED: LiveState

class StartLiveRequest(_message.Message):
    __slots__ = ("source", "outputs", "model", "encoding", "block", "max_latency_seconds", "rtsp_transport", "stall_timeout_seconds")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RTSP_TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    STALL_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    source: str
    outputs: _containers.RepeatedScalarFieldContainer[str]
    model: _restore_pb2.ModelOptions
    encoding: _restore_pb2.OutputOptions
    block: bool
    max_latency_seconds: float
    rtsp_transport: str
    stall_timeout_seconds: float
    def __init__(self, source: _Optional[str] = ..., outputs: _Optional[_Iterable[str]] = ..., model: _Optional[_Union[_restore_pb2.ModelOptions, _Mapping]] = ..., encoding: _Optional[_Union[_restore_pb2.OutputOptions, _Mapping]] = ..., block: _Optional[bool] = ..., max_latency_seconds: _Optional[float] = ..., rtsp_transport: _Optional[str] = ..., stall_timeout_seconds: _Optional[float] = ...) -> None: ...

class LiveRef(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListLiveRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLiveResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[LiveSession]
    def __init__(self, sessions: _Optional[_Iterable[_Union[LiveSession, _Mapping]]] = ...) -> None: ...

class LiveMetrics(_message.Message):
    __slots__ = ("input_fps", "output_fps", "frames_in", "frames_out", "dropped", "dropped_before_decode", "reconnects", "latency_seconds", "latency_p50_seconds", "latency_p95_seconds", "latency_max_seconds")
    INPUT_FPS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FPS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_IN_FIELD_NUMBER: _ClassVar[int]
    FRAMES_OUT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_BEFORE_DECODE_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    input_fps: float
    output_fps: float
    frames_in: int
    frames_out: int
    dropped: int
    dropped_before_decode: int
    reconnects: int
    latency_seconds: float
    latency_p50_seconds: float
    latency_p95_seconds: float
    latency_max_seconds: float
    def __init__(self, input_fps: _Optional[float] = ..., output_fps: _Optional[float] = ..., frames_in: _Optional[int] = ..., frames_out: _Optional[int] = ..., dropped: _Optional[int] = ..., dropped_before_decode: _Optional[int] = ..., reconnects: _Optional[int] = ..., latency_seconds: _Optional[float] = ..., latency_p50_seconds: _Optional[float] = ..., latency_p95_seconds: _Optional[float] = ..., latency_max_seconds: _Optional[float] = ...) -> None: ...

class LiveOutputStatus(_message.Message):
    __slots__ = ("url", "state", "reconnects", "dropped_packets", "last_error")
    URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_PACKETS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    url: str
    state: str
    reconnects: int
    dropped_packets: int
    last_error: str
    def __init__(self, url: _Optional[str] = ..., state: _Optional[str] = ..., reconnects: _Optional[int] = ..., dropped_packets: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class LiveSession(_message.Message):
    __slots__ = ("id", "state", "source", "outputs", "model", "started", "metrics", "output_status", "last_error")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: LiveState
    source: str
    outputs: _containers.RepeatedScalarFieldContainer[str]
    model: str
    started: float
    metrics: LiveMetrics
    output_status: _containers.RepeatedCompositeFieldContainer[LiveOutputStatus]
    last_error: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[LiveState, str]] = ..., source: _Optional[str] = ..., outputs: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., started: _Optional[float] = ..., metrics: _Optional[_Union[LiveMetrics, _Mapping]] = ..., output_status: _Optional[_Iterable[_Union[LiveOutputStatus, _Mapping]]] = ..., last_error: _Optional[str] = ...) -> None: ...
