# Spate's runner for Python handler modules: imports `<dir>/<module>.py` once and answers
# invocations over Spate's line protocol (one JSON line in on stdin, one out on stdout). The
# handler's own prints go to stderr so they cannot break the protocol.
import importlib
import json
import sys
import time
import traceback

directory, spec = sys.argv[1], sys.argv[2]
protocol = sys.stdout
sys.stdout = sys.stderr
sys.path.insert(0, directory)


def describe(e):
    return {
        "errorType": type(e).__name__,
        "errorMessage": str(e),
        "stackTrace": traceback.format_tb(e.__traceback__),
    }


class Context:
    def __init__(self, c):
        self.function_name = c["functionName"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = c["invokedFunctionArn"]
        self.memory_limit_in_mb = str(c["memoryLimitInMB"])
        self.aws_request_id = c["awsRequestId"]
        self._deadline_ms = c["deadlineMs"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


handler, init_error = None, None
try:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler {spec}")
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
except Exception as e:  # the function's failure, reported at every invocation
    init_error = describe(e)
    init_error["errorType"] = "Runtime.ImportModuleError"

for line in sys.stdin:
    if not line.strip():
        continue
    request = json.loads(line)
    answer = {"id": request["id"]}
    if init_error is not None:
        answer["error"] = init_error
    else:
        try:
            answer["result"] = handler(request["event"], Context(request["context"]))
        except Exception as e:
            answer["error"] = describe(e)
    try:
        text = json.dumps(answer)
    except (TypeError, ValueError) as e:
        text = json.dumps({"id": request["id"], "error": {
            "errorType": "Runtime.MarshalError",
            "errorMessage": f"Unable to marshal response: {e}",
        }})
    protocol.write(text + "\n")
    protocol.flush()
