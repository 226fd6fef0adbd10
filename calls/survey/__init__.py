"""Survey scripts: the TOML format (``script``), safe conditions (``conditions``), the
engine that walks a script during a call (``engine``) and the NPS/CSAT helpers
(``metrics``). Pure core: no clock, no UI, and no database but ``stored_script``, which
parses the text of a version the store kept."""

from calls.survey.conditions import ConditionError
from calls.survey.context import occasion_context
from calls.survey.engine import (
    Answered,
    AnswerError,
    FollowupSpec,
    Step,
    SurveyResult,
    SurveySession,
    answer_help,
    display_answer,
    parse_answer,
    to_stored,
)
from calls.survey.metrics import (
    DETRACTOR,
    PASSIVE,
    PROMOTER,
    csat_share,
    nps_category,
    nps_counts,
    nps_score,
)
from calls.survey.script import (
    Option,
    Problem,
    Question,
    Rule,
    Script,
    ScriptError,
    available_scripts,
    load_script,
    parse_script,
    script_for_purpose,
    shipped_script_names,
)
from calls.survey.stored import past_answer_words, stored_script

__all__ = [
    "DETRACTOR",
    "PASSIVE",
    "PROMOTER",
    "AnswerError",
    "Answered",
    "ConditionError",
    "FollowupSpec",
    "Option",
    "Problem",
    "Question",
    "Rule",
    "Script",
    "ScriptError",
    "Step",
    "SurveyResult",
    "SurveySession",
    "answer_help",
    "available_scripts",
    "csat_share",
    "display_answer",
    "load_script",
    "nps_category",
    "nps_counts",
    "nps_score",
    "occasion_context",
    "parse_answer",
    "parse_script",
    "past_answer_words",
    "script_for_purpose",
    "shipped_script_names",
    "stored_script",
    "to_stored",
]
