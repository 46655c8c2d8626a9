"""Every attribute key spanscope reads or writes, defined once.

Grouped by convention. The SDK emits the standard key wherever one exists so other OTel backends
understand our spans; `spanscope.*` keys cover only what no convention has (fallback attempts,
guardrail verdicts, structured-output validity, tags and metadata).
"""

from typing import Final

# --- OpenTelemetry resource / general -------------------------------------------------------------
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT_OLD: Final = "deployment.environment"
ERROR_TYPE: Final = "error.type"
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
USER_ID: Final = "user.id"
ENDUSER_ID: Final = "enduser.id"
SESSION_ID: Final = "session.id"

# --- OpenTelemetry GenAI (current, then deprecated names) -----------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_FINISH_REASON: Final = "gen_ai.response.finish_reason"
GEN_AI_RESPONSE_TTFC: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_TOTAL_TOKENS: Final = "gen_ai.usage.total_tokens"
GEN_AI_USAGE_CACHE_READ: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_READ_OLD: Final = "gen_ai.usage.cache_read_input_tokens"
GEN_AI_USAGE_CACHE_WRITE: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_CACHE_CREATION: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_OLD: Final = "gen_ai.usage.cache_creation_input_tokens"
GEN_AI_USAGE_REASONING: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_REASONING_OLD: Final = "gen_ai.usage.reasoning_tokens"
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_PROMPT_PREFIX: Final = "gen_ai.prompt."  # legacy gen_ai.prompt.N.role / .content
GEN_AI_COMPLETION_PREFIX: Final = "gen_ai.completion."  # legacy gen_ai.completion.N.*
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
GEN_AI_PROMPT_VERSION: Final = "gen_ai.prompt.version"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_RETRIEVAL_QUERY: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_EMBEDDINGS_DIMENSION: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_GUARDRAIL_NAME: Final = "gen_ai.guardrail.component.name"
GEN_AI_GUARDRAIL_RESULT_TYPE: Final = "gen_ai.guardrail.result.type"
GEN_AI_GUARDRAIL_RESULT_VALUE: Final = "gen_ai.guardrail.result.value"
GEN_AI_GUARDRAIL_VERDICT_OLD: Final = "gen_ai.guardrail.verdict.type"
GEN_AI_GUARDRAIL_REASON: Final = "gen_ai.guardrail.result.reason"
GEN_AI_GUARDRAIL_SOURCE: Final = "gen_ai.guardrail.source"
GEN_AI_GUARDRAIL_TARGET: Final = "gen_ai.guardrail.target.type"
GEN_AI_GUARDRAIL_RISK_SCORE: Final = "gen_ai.guardrail.risk.score"
GEN_AI_GUARDRAIL_RISK_CATEGORY: Final = "gen_ai.guardrail.risk.category"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"
# Log-event names that carry message content (instrumentations that send content as logs).
GEN_AI_EVENT_SYSTEM_MESSAGE: Final = "gen_ai.system.message"
GEN_AI_EVENT_USER_MESSAGE: Final = "gen_ai.user.message"
GEN_AI_EVENT_ASSISTANT_MESSAGE: Final = "gen_ai.assistant.message"
GEN_AI_EVENT_TOOL_MESSAGE: Final = "gen_ai.tool.message"
GEN_AI_EVENT_CHOICE: Final = "gen_ai.choice"
GEN_AI_EVENT_OPERATION_DETAILS: Final = "gen_ai.client.inference.operation.details"
GEN_AI_EVENT_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"

# --- OpenInference ----------------------------------------------------------------------------------
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_INPUT_VALUE: Final = "input.value"
OI_INPUT_MIME: Final = "input.mime_type"
OI_OUTPUT_VALUE: Final = "output.value"
OI_OUTPUT_MIME: Final = "output.mime_type"
OI_LLM_MODEL_NAME: Final = "llm.model_name"
OI_LLM_REQUEST_MODEL: Final = "llm.request.model_name"
OI_LLM_RESPONSE_MODEL: Final = "llm.response.model_name"
OI_LLM_PROVIDER: Final = "llm.provider"
OI_LLM_SYSTEM: Final = "llm.system"
OI_LLM_FINISH_REASON: Final = "llm.finish_reason"
OI_LLM_INVOCATION_PARAMETERS: Final = "llm.invocation_parameters"
OI_TOKEN_PROMPT: Final = "llm.token_count.prompt"
OI_TOKEN_COMPLETION: Final = "llm.token_count.completion"
OI_TOKEN_TOTAL: Final = "llm.token_count.total"
OI_TOKEN_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
OI_TOKEN_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
OI_TOKEN_REASONING: Final = "llm.token_count.completion_details.reasoning"
OI_COST_TOTAL: Final = "llm.cost.total"
OI_COST_PROMPT: Final = "llm.cost.prompt"
OI_COST_COMPLETION: Final = "llm.cost.completion"
OI_INPUT_MESSAGES_PREFIX: Final = "llm.input_messages."
OI_OUTPUT_MESSAGES_PREFIX: Final = "llm.output_messages."
OI_PROMPTS_PREFIX: Final = "llm.prompts."
OI_CHOICES_PREFIX: Final = "llm.choices."
OI_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"
OI_PROMPT_TEMPLATE_VERSION: Final = "llm.prompt_template.version"
OI_PROMPT_TEMPLATE_VARIABLES: Final = "llm.prompt_template.variables"
OI_PROMPT_ID: Final = "prompt.id"
OI_EMBEDDING_MODEL_NAME: Final = "embedding.model_name"
OI_RERANKER_MODEL_NAME: Final = "reranker.model_name"
OI_RETRIEVAL_DOCUMENTS_PREFIX: Final = "retrieval.documents."
OI_RERANKER_OUTPUT_DOCUMENTS_PREFIX: Final = "reranker.output_documents."
OI_TOOL_NAME: Final = "tool.name"
OI_TOOL_ID: Final = "tool.id"
OI_TOOL_PARAMETERS: Final = "tool.parameters"
OI_TOOL_DESCRIPTION: Final = "tool.description"
OI_AGENT_NAME: Final = "agent.name"
OI_SESSION_ID: Final = SESSION_ID
OI_USER_ID: Final = USER_ID
OI_TAGS: Final = "tag.tags"
OI_METADATA: Final = "metadata"

# --- Traceloop / OpenLLMetry ------------------------------------------------------------------------
TL_SPAN_KIND: Final = "traceloop.span.kind"
TL_ENTITY_NAME: Final = "traceloop.entity.name"
TL_ENTITY_INPUT: Final = "traceloop.entity.input"
TL_ENTITY_OUTPUT: Final = "traceloop.entity.output"
TL_WORKFLOW_NAME: Final = "traceloop.workflow.name"
TL_ASSOCIATION_PREFIX: Final = "traceloop.association.properties."
TL_PROMPT_KEY: Final = "traceloop.prompt.key"
TL_PROMPT_VERSION: Final = "traceloop.prompt.version"
TL_LLM_REQUEST_TYPE: Final = "llm.request.type"
TL_LLM_REQUEST_MODEL_OLD: Final = "llm.request.model"
TL_LLM_USAGE_TOTAL: Final = "llm.usage.total_tokens"
TL_LLM_USAGE_REASONING: Final = "llm.usage.reasoning_tokens"
TL_IS_STREAMING: Final = "gen_ai.is_streaming"

# --- OpenLIT ----------------------------------------------------------------------------------------
OPENLIT_CONTENT_PROMPT: Final = "gen_ai.content.prompt"
OPENLIT_CONTENT_COMPLETION: Final = "gen_ai.content.completion"
OPENLIT_TOKEN_COST_TOTAL: Final = "gen_ai.token.cost.total"
OPENLIT_USER: Final = "gen_ai.user.id"
OPENLIT_REQUEST_USER: Final = "gen_ai.request.user"
OPENLIT_SESSION: Final = "gen_ai.session.id"
OPENLIT_TTFT: Final = "gen_ai.server.time_to_first_token"
OPENLIT_GUARD_VERDICT: Final = "guard.verdict"
OPENLIT_GUARD_DENIED: Final = "guard.denied"
OPENLIT_GUARD_ACTION: Final = "guard.action"
OPENLIT_GUARD_NAME: Final = "guard.name"
OPENLIT_GUARD_VALIDATOR: Final = "guard.validator"
OPENLIT_GUARD_EXPLANATION: Final = "guard.explanation"
OPENLIT_GUARD_PHASE: Final = "guard.phase"
OPENLIT_WORKFLOW_INPUT: Final = "gen_ai.workflow.input"
OPENLIT_WORKFLOW_OUTPUT: Final = "gen_ai.workflow.output"
OPENLIT_RETRIEVAL_QUERY_OLD: Final = "gen_ai.retrieval.query"

# --- spanscope (only where no convention exists) ----------------------------------------------------
SS_PROJECT: Final = "spanscope.project"  # resource attribute; the API key decides when auth is on
SS_SPAN_KIND: Final = "spanscope.span.kind"
SS_TAGS: Final = "spanscope.tags"
SS_METADATA_PREFIX: Final = "spanscope.metadata."
SS_INPUT: Final = "spanscope.input"  # captured function input (JSON) for non-LLM steps
SS_OUTPUT: Final = "spanscope.output"
SS_FALLBACK_ATTEMPT: Final = "spanscope.fallback.attempt"  # 1-based, on each attempt span
SS_FALLBACK_ATTEMPTS: Final = "spanscope.fallback.attempts"  # attempts made, on the logical call
SS_FALLBACK_USED: Final = "spanscope.fallback.used"  # served by an attempt other than the first
SS_FALLBACK_DEGRADED: Final = "spanscope.fallback.degraded"  # served by a non-LLM path
SS_FALLBACK_REQUESTED_MODEL: Final = "spanscope.fallback.requested_model"
SS_GUARDRAIL_VERDICT: Final = "spanscope.guardrail.verdict"  # pass | block | modify
SS_GUARDRAIL_POLICY: Final = "spanscope.guardrail.policy"
SS_GUARDRAIL_STAGE: Final = "spanscope.guardrail.stage"  # input | output
SS_OUTPUT_VALIDATED: Final = "spanscope.output.validated"
SS_OUTPUT_VALID: Final = "spanscope.output.valid"
SS_OUTPUT_ATTEMPTS: Final = "spanscope.output.attempts"
SS_OUTPUT_SCHEMA: Final = "spanscope.output.schema"
SS_OUTPUT_ERROR: Final = "spanscope.output.error"
SS_TRUNCATED_SUFFIX: Final = "…[truncated by spanscope]"

# --- added for normalisation (collector/normalize) --------------------------------------------------
# OTel GenAI: more request/usage keys, event payload keys and guardrail keys.
GEN_AI_REQUEST_MAX_COMPLETION_TOKENS: Final = "gen_ai.request.max_completion_tokens"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
GEN_AI_USAGE_COST_TOTAL: Final = "gen_ai.usage.cost.total"
GEN_AI_EVENT_CONTENT: Final = "gen_ai.event.content"  # event body as JSON text, when a body became an attribute
GEN_AI_EVENT_CONTENT_PROMPT: Final = "gen_ai.content.prompt"  # 2024 event carrying attribute gen_ai.prompt
GEN_AI_EVENT_CONTENT_COMPLETION: Final = "gen_ai.content.completion"  # ... carrying gen_ai.completion
GEN_AI_EVENT_PROMPT_ATTRIBUTE: Final = "gen_ai.prompt"
GEN_AI_EVENT_COMPLETION_ATTRIBUTE: Final = "gen_ai.completion"
GEN_AI_EVENT_OPERATION_EXCEPTION: Final = "gen_ai.client.operation.exception"
GEN_AI_EVENT_GUARDRAIL_RESULT: Final = "gen_ai.guardrail.result"
GEN_AI_GUARDRAIL_POLICY_ID: Final = "gen_ai.guardrail.policy.id"
GEN_AI_GUARDRAIL_NAME_OLD: Final = "gen_ai.guardrail.name"
GEN_AI_GUARDRAIL_STATUS_OLD: Final = "gen_ai.guardrail.status"  # PASSED / FAILED (Traceloop hub)
GEN_AI_RESPONSE_TTFT: Final = "gen_ai.response.time_to_first_token"

# OpenInference: list-valued and indexed keys.
OI_LLM_PROMPTS: Final = "llm.prompts"  # list of prompt strings (older OpenInference)
OI_LLM_TOOLS_PREFIX: Final = "llm.tools."
OI_EMBEDDING_INVOCATION_PARAMETERS: Final = "embedding.invocation_parameters"
OI_EMBEDDING_EMBEDDINGS_PREFIX: Final = "embedding.embeddings."
OI_RERANKER_QUERY: Final = "reranker.query"
OI_RERANKER_INPUT_DOCUMENTS_PREFIX: Final = "reranker.input_documents."

# Traceloop / OpenLLMetry.
TL_ASSOCIATION_SESSION_ID: Final = "traceloop.association.properties.session_id"
TL_ASSOCIATION_USER_ID: Final = "traceloop.association.properties.user_id"
TL_LLM_IS_STREAMING: Final = "llm.is_streaming"
TL_TASK_INPUT: Final = "gen_ai.task.input"
TL_TASK_OUTPUT: Final = "gen_ai.task.output"
DB_SYSTEM: Final = "db.system"
DB_VECTOR_QUERY_TOP_K: Final = "db.vector.query.top_k"
TL_EVENT_DB_QUERY_RESULT: Final = "db.query.result"
TL_DB_QUERY_RESULT_ID: Final = "db.query.result.id"
TL_DB_QUERY_RESULT_SCORE: Final = "db.query.result.score"
TL_DB_QUERY_RESULT_DISTANCE: Final = "db.query.result.distance"
TL_DB_QUERY_RESULT_METADATA: Final = "db.query.result.metadata"
TL_DB_QUERY_RESULT_DOCUMENT: Final = "db.query.result.document"

# OpenLIT.
OPENLIT_TOKEN_COST_INPUT: Final = "gen_ai.token.cost.input"
OPENLIT_TOKEN_COST_OUTPUT: Final = "gen_ai.token.cost.output"
OPENLIT_TOOL_INPUT: Final = "gen_ai.tool.input"
OPENLIT_TOOL_OUTPUT: Final = "gen_ai.tool.output"
OPENLIT_TOOL_ARGS: Final = "gen_ai.tool.args"
OPENLIT_GUARD_SCORE: Final = "guard.score"
OPENLIT_GUARD_CLASSIFICATION: Final = "guard.classification"
OPENLIT_EVENT_GUARD_EVALUATION: Final = "guard.evaluation"

# NeMo Guardrails.
NEMO_RAIL_TYPE: Final = "rail.type"  # input / output / dialog / retrieval / execution
NEMO_RAIL_NAME: Final = "rail.name"
NEMO_RAIL_STOP: Final = "rail.stop"  # true when the rail stopped the flow
NEMO_RAIL_DECISIONS: Final = "rail.decisions"
NEMO_RAIL_REASON: Final = "guardrails.rail.reason"
NEMO_SPAN_RAIL: Final = "guardrails.rail"
NEMO_SPAN_REQUEST: Final = "guardrails.request"

# Guardrails AI.
GRAI_VALIDATION_PASSED: Final = "validation_passed"  # on the guard span
GRAI_VALIDATOR_NAME: Final = "validator.name"
GRAI_VALIDATOR_ON_FAIL: Final = "validator.on_fail"
GRAI_VALIDATOR_OUTCOME: Final = "validator.validate.output.outcome"  # pass / fail
GRAI_VALIDATOR_ERROR: Final = "validator.validate.output.error_message"

# LiteLLM (cost computed by the proxy, `gen_ai.cost.<key>`).
LITELLM_COST_TOTAL: Final = "gen_ai.cost.total_cost"
LITELLM_COST_TOTAL_ALT: Final = "gen_ai.cost.total"
LITELLM_COST_USD: Final = "gen_ai.cost.usd"

# Canonical metadata: every convention's metadata (spanscope.metadata.<k>, OpenInference `metadata`
# JSON, Traceloop association properties) is stored in `spans.attributes` as metadata.<k>.
CANONICAL_METADATA_PREFIX: Final = "metadata."

# The SDK's fallback helper: which option of the chain served the logical call
# (1-based; absent when nothing did or the degraded path served), and the 0-based retry number of
# an attempt span within its option (retries on transient errors repeat the same option).
SS_FALLBACK_SERVED_ATTEMPT: Final = "spanscope.fallback.served_attempt"
SS_FALLBACK_RETRY: Final = "spanscope.fallback.retry"

# Set by the collector on a span whose conventions could not be normalised (the span is kept as a
# plain span with all its attributes; the value says what went wrong).
SS_NORMALIZE_ERROR: Final = "spanscope.normalize_error"
