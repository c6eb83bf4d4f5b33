"""Liandan's non-UI core: models, knowledge bases, tuning, API, jobs. Never imports streamlit."""
import sys

# OpenVINO's telemetry package (imported by NNCF when it loads, used for int8 embedding models)
# writes ~/intel/stats and ~/intel/openvino_ga_cid and sends usage data unless a consent file
# says no; Liandan keeps everything under its data folder and sends nothing. Marking the package
# absent makes NNCF (and OpenVINO's converter) fall back to their built-in no-op stubs.
sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
