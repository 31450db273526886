"""The errors khabar raises. Every message names the file, id or setting involved.

The library never prints or exits: the CLI, the API and the UI translate these
once, at their boundary.
"""


class KhabarError(Exception):
    """Base class of every error khabar raises on purpose."""

    #: a short machine-readable code, shared by the CLI, the API and the UI
    code = "khabar_error"


class InputError(KhabarError):
    """An article or question that cannot be used (empty, binary, not UTF-8, ...)."""

    code = "bad_input"


class UnsupportedSourceError(InputError):
    """A file whose type khabar does not read."""

    code = "unsupported_source"


class EmptyQuestionError(InputError):
    """A question with no words in it."""

    code = "empty_question"


class ArticleNotFoundError(KhabarError):
    """An article id that is not in the index."""

    code = "not_found"


class IndexFormatError(KhabarError):
    """An index written by a newer khabar, or damaged beyond repair."""

    code = "index_format"


class EncoderMismatchError(KhabarError):
    """An index built with another encoder than the one asked for."""

    code = "encoder_mismatch"


class BackendMissingError(KhabarError):
    """An optional backend whose package is not installed; the message gives the install command."""

    code = "backend_missing"


class ConfigError(KhabarError):
    """A setting with an invalid value or an unknown name."""

    code = "bad_setting"


class IndexWriteError(KhabarError):
    """A write to the index that failed (disk full, no permission); the index keeps its
    previous state."""

    code = "write_failed"


class ReadOnlyIndexError(IndexWriteError):
    """A write (add, remove, sync, repair, compact) on an index this process may only read."""

    code = "read_only"


class IndexNotFoundError(KhabarError):
    """A command that only reads was pointed at a folder that holds no index."""

    code = "no_index"


class StoreUnavailableError(KhabarError):
    """A store that cannot be reached or refuses the call (a Milvus address that does not
    answer, a token it rejects); the message names the address and the setting."""

    code = "store_unavailable"
