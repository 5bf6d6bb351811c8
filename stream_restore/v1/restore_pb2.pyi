from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PixelFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PIXEL_FORMAT_UNSPECIFIED: _ClassVar[PixelFormat]
    PIXEL_FORMAT_RGB24: _ClassVar[PixelFormat]
    PIXEL_FORMAT_RGB48: _ClassVar[PixelFormat]
    PIXEL_FORMAT_YUV420P: _ClassVar[PixelFormat]
    PIXEL_FORMAT_NV12: _ClassVar[PixelFormat]
PIXEL_FORMAT_UNSPECIFIED: PixelFormat
PIXEL_FORMAT_RGB24: PixelFormat
PIXEL_FORMAT_RGB48: PixelFormat
PIXEL_FORMAT_YUV420P: PixelFormat
PIXEL_FORMAT_NV12: PixelFormat

class Rational(_message.Message):
    __slots__ = ("num", "den")
    NUM_FIELD_NUMBER: _ClassVar[int]
    DEN_FIELD_NUMBER: _ClassVar[int]
    num: int
    den: int
    def __init__(self, num: _Optional[int] = ..., den: _Optional[int] = ...) -> None: ...

class ModelOptions(_message.Message):
    __slots__ = ("model", "backend", "tile_max_pixels", "tile_overlap", "disable_scene_detection")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    TILE_MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    TILE_OVERLAP_FIELD_NUMBER: _ClassVar[int]
    DISABLE_SCENE_DETECTION_FIELD_NUMBER: _ClassVar[int]
    model: str
    backend: str
    tile_max_pixels: int
    tile_overlap: int
    disable_scene_detection: bool
    def __init__(self, model: _Optional[str] = ..., backend: _Optional[str] = ..., tile_max_pixels: _Optional[int] = ..., tile_overlap: _Optional[int] = ..., disable_scene_detection: _Optional[bool] = ...) -> None: ...

class OutputOptions(_message.Message):
    __slots__ = ("container", "codec", "crf", "bitrate", "preset", "tune", "pix_fmt", "gop")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    CRF_FIELD_NUMBER: _ClassVar[int]
    BITRATE_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    TUNE_FIELD_NUMBER: _ClassVar[int]
    PIX_FMT_FIELD_NUMBER: _ClassVar[int]
    GOP_FIELD_NUMBER: _ClassVar[int]
    container: str
    codec: str
    crf: int
    bitrate: int
    preset: str
    tune: str
    pix_fmt: str
    gop: int
    def __init__(self, container: _Optional[str] = ..., codec: _Optional[str] = ..., crf: _Optional[int] = ..., bitrate: _Optional[int] = ..., preset: _Optional[str] = ..., tune: _Optional[str] = ..., pix_fmt: _Optional[str] = ..., gop: _Optional[int] = ...) -> None: ...

class RestoreConfig(_message.Message):
    __slots__ = ("model", "output", "input_format", "low_latency", "progress_interval")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    LOW_LATENCY_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    model: ModelOptions
    output: OutputOptions
    input_format: str
    low_latency: bool
    progress_interval: int
    def __init__(self, model: _Optional[_Union[ModelOptions, _Mapping]] = ..., output: _Optional[_Union[OutputOptions, _Mapping]] = ..., input_format: _Optional[str] = ..., low_latency: _Optional[bool] = ..., progress_interval: _Optional[int] = ...) -> None: ...

class RestoreRequest(_message.Message):
    __slots__ = ("config", "chunk")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    config: RestoreConfig
    chunk: bytes
    def __init__(self, config: _Optional[_Union[RestoreConfig, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class VideoStreamInfo(_message.Message):
    __slots__ = ("width", "height", "time_base", "frame_rate", "codec", "pix_fmt", "duration", "frame_count", "bit_depth")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_BASE_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    PIX_FMT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    BIT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    time_base: Rational
    frame_rate: Rational
    codec: str
    pix_fmt: str
    duration: float
    frame_count: int
    bit_depth: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., time_base: _Optional[_Union[Rational, _Mapping]] = ..., frame_rate: _Optional[_Union[Rational, _Mapping]] = ..., codec: _Optional[str] = ..., pix_fmt: _Optional[str] = ..., duration: _Optional[float] = ..., frame_count: _Optional[int] = ..., bit_depth: _Optional[int] = ...) -> None: ...

class StreamHeader(_message.Message):
    __slots__ = ("stream_id", "input", "output", "container", "mime_type", "model", "backend")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    input: VideoStreamInfo
    output: VideoStreamInfo
    container: str
    mime_type: str
    model: str
    backend: str
    def __init__(self, stream_id: _Optional[str] = ..., input: _Optional[_Union[VideoStreamInfo, _Mapping]] = ..., output: _Optional[_Union[VideoStreamInfo, _Mapping]] = ..., container: _Optional[str] = ..., mime_type: _Optional[str] = ..., model: _Optional[str] = ..., backend: _Optional[str] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("frames_done", "frames_total", "fps", "elapsed_seconds")
    FRAMES_DONE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    frames_done: int
    frames_total: int
    fps: float
    elapsed_seconds: float
    def __init__(self, frames_done: _Optional[int] = ..., frames_total: _Optional[int] = ..., fps: _Optional[float] = ..., elapsed_seconds: _Optional[float] = ...) -> None: ...

class Summary(_message.Message):
    __slots__ = ("frames_in", "frames_out", "packets_copied", "wall_seconds", "fps", "decode_seconds", "infer_seconds", "encode_seconds", "bytes_in", "bytes_out", "warnings", "scene_cuts")
    FRAMES_IN_FIELD_NUMBER: _ClassVar[int]
    FRAMES_OUT_FIELD_NUMBER: _ClassVar[int]
    PACKETS_COPIED_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    DECODE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INFER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ENCODE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    SCENE_CUTS_FIELD_NUMBER: _ClassVar[int]
    frames_in: int
    frames_out: int
    packets_copied: int
    wall_seconds: float
    fps: float
    decode_seconds: float
    infer_seconds: float
    encode_seconds: float
    bytes_in: int
    bytes_out: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    scene_cuts: int
    def __init__(self, frames_in: _Optional[int] = ..., frames_out: _Optional[int] = ..., packets_copied: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., fps: _Optional[float] = ..., decode_seconds: _Optional[float] = ..., infer_seconds: _Optional[float] = ..., encode_seconds: _Optional[float] = ..., bytes_in: _Optional[int] = ..., bytes_out: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., scene_cuts: _Optional[int] = ...) -> None: ...

class RestoreResponse(_message.Message):
    __slots__ = ("header", "chunk", "progress", "summary")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    header: StreamHeader
    chunk: bytes
    progress: Progress
    summary: Summary
    def __init__(self, header: _Optional[_Union[StreamHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., summary: _Optional[_Union[Summary, _Mapping]] = ...) -> None: ...

class RawFrame(_message.Message):
    __slots__ = ("format", "width", "height", "pts", "time_base", "data", "more_parts", "color_matrix", "full_range")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PTS_FIELD_NUMBER: _ClassVar[int]
    TIME_BASE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MORE_PARTS_FIELD_NUMBER: _ClassVar[int]
    COLOR_MATRIX_FIELD_NUMBER: _ClassVar[int]
    FULL_RANGE_FIELD_NUMBER: _ClassVar[int]
    format: PixelFormat
    width: int
    height: int
    pts: int
    time_base: Rational
    data: bytes
    more_parts: bool
    color_matrix: int
    full_range: bool
    def __init__(self, format: _Optional[_Union[PixelFormat, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., pts: _Optional[int] = ..., time_base: _Optional[_Union[Rational, _Mapping]] = ..., data: _Optional[bytes] = ..., more_parts: _Optional[bool] = ..., color_matrix: _Optional[int] = ..., full_range: _Optional[bool] = ...) -> None: ...

class FramesConfig(_message.Message):
    __slots__ = ("model", "output_format")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model: ModelOptions
    output_format: PixelFormat
    def __init__(self, model: _Optional[_Union[ModelOptions, _Mapping]] = ..., output_format: _Optional[_Union[PixelFormat, str]] = ...) -> None: ...

class Reset(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FramesRequest(_message.Message):
    __slots__ = ("config", "frame", "reset")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    config: FramesConfig
    frame: RawFrame
    reset: Reset
    def __init__(self, config: _Optional[_Union[FramesConfig, _Mapping]] = ..., frame: _Optional[_Union[RawFrame, _Mapping]] = ..., reset: _Optional[_Union[Reset, _Mapping]] = ...) -> None: ...

class FramesResponse(_message.Message):
    __slots__ = ("frame", "summary")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    frame: RawFrame
    summary: Summary
    def __init__(self, frame: _Optional[_Union[RawFrame, _Mapping]] = ..., summary: _Optional[_Union[Summary, _Mapping]] = ...) -> None: ...

class ImageRequest(_message.Message):
    __slots__ = ("image", "model", "output_format", "quality")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    model: ModelOptions
    output_format: str
    quality: int
    def __init__(self, image: _Optional[bytes] = ..., model: _Optional[_Union[ModelOptions, _Mapping]] = ..., output_format: _Optional[str] = ..., quality: _Optional[int] = ...) -> None: ...

class ImageResponse(_message.Message):
    __slots__ = ("image", "mime_type", "width", "height", "seconds")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    mime_type: str
    width: int
    height: int
    seconds: float
    def __init__(self, image: _Optional[bytes] = ..., mime_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "task", "scale", "past_frames", "future_frames", "recurrent", "description", "loaded")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    PAST_FRAMES_FIELD_NUMBER: _ClassVar[int]
    FUTURE_FRAMES_FIELD_NUMBER: _ClassVar[int]
    RECURRENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: str
    scale: int
    past_frames: int
    future_frames: int
    recurrent: bool
    description: str
    loaded: bool
    def __init__(self, name: _Optional[str] = ..., task: _Optional[str] = ..., scale: _Optional[int] = ..., past_frames: _Optional[int] = ..., future_frames: _Optional[int] = ..., recurrent: _Optional[bool] = ..., description: _Optional[str] = ..., loaded: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerLimits(_message.Message):
    __slots__ = ("max_concurrent_streams", "max_width", "max_height", "max_pixels", "max_duration_seconds", "max_message_bytes", "idle_timeout_seconds", "max_image_bytes")
    MAX_CONCURRENT_STREAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_WIDTH_FIELD_NUMBER: _ClassVar[int]
    MAX_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_concurrent_streams: int
    max_width: int
    max_height: int
    max_pixels: int
    max_duration_seconds: float
    max_message_bytes: int
    idle_timeout_seconds: float
    max_image_bytes: int
    def __init__(self, max_concurrent_streams: _Optional[int] = ..., max_width: _Optional[int] = ..., max_height: _Optional[int] = ..., max_pixels: _Optional[int] = ..., max_duration_seconds: _Optional[float] = ..., max_message_bytes: _Optional[int] = ..., idle_timeout_seconds: _Optional[float] = ..., max_image_bytes: _Optional[int] = ...) -> None: ...

class LoadedEngine(_message.Message):
    __slots__ = ("model", "backend", "device")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    model: str
    backend: str
    device: str
    def __init__(self, model: _Optional[str] = ..., backend: _Optional[str] = ..., device: _Optional[str] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "backends", "devices", "engines", "limits", "active_streams", "device", "backend")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    ENGINES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_STREAMS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    version: str
    backends: _containers.RepeatedScalarFieldContainer[str]
    devices: _containers.RepeatedScalarFieldContainer[str]
    engines: _containers.RepeatedCompositeFieldContainer[LoadedEngine]
    limits: ServerLimits
    active_streams: int
    device: str
    backend: str
    def __init__(self, version: _Optional[str] = ..., backends: _Optional[_Iterable[str]] = ..., devices: _Optional[_Iterable[str]] = ..., engines: _Optional[_Iterable[_Union[LoadedEngine, _Mapping]]] = ..., limits: _Optional[_Union[ServerLimits, _Mapping]] = ..., active_streams: _Optional[int] = ..., device: _Optional[str] = ..., backend: _Optional[str] = ...) -> None: ...
