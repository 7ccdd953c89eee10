"""Small hand-written reports in each format, shaped like the tools write them (the real tool output of the
corpus lives in tests/measures/corpus/)."""

COBERTURA = b"""<?xml version="1.0" ?>
<coverage version="7.6.1" timestamp="1764540000000" lines-valid="200" lines-covered="171" line-rate="0.855"
 branches-covered="30" branches-valid="40" branch-rate="0.75" complexity="0">
  <sources><source>/src/pkg</source></sources>
  <packages><package name="pkg" line-rate="0.855" branch-rate="0.75" complexity="0"><classes/></package></packages>
</coverage>
"""

ISTANBUL_COBERTURA = b"""<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage lines-valid="10" lines-covered="9" line-rate="0.9" branches-valid="0" branches-covered="0"
 branch-rate="1" timestamp="1" complexity="0" version="0.1"><sources/><packages/></coverage>
"""

JACOCO = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
<report name="demo">
  <sessioninfo id="x" start="1" dump="2"/>
  <package name="demo">
    <class name="demo/App" sourcefilename="App.java">
      <counter type="LINE" missed="99" covered="1"/>
    </class>
    <counter type="LINE" missed="3" covered="9"/>
  </package>
  <counter type="INSTRUCTION" missed="12" covered="40"/>
  <counter type="BRANCH" missed="2" covered="6"/>
  <counter type="LINE" missed="3" covered="9"/>
  <counter type="METHOD" missed="1" covered="4"/>
</report>
"""

LCOV = b"""TN:
SF:pkg/a.py
DA:1,1
DA:2,0
BRDA:2,0,0,1
BRDA:2,0,1,-
BRF:2
BRH:1
LF:2
LH:1
end_of_record
SF:pkg/b.py
DA:1,1
LF:3
LH:3
end_of_record
"""

SARIF_V1 = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "bandit",
                    "rules": [
                        {"id": "B602", "defaultConfiguration": {"level": "error"}},
                        {"id": "B101", "defaultConfiguration": {"level": "note"}},
                    ],
                }
            },
            "results": [
                {
                    "ruleId": "B602",
                    "ruleIndex": 0,
                    "message": {"text": "subprocess call with shell=True"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/run.py"},
                                "region": {"startLine": 4},
                            }
                        }
                    ],
                },
                {
                    "ruleId": "B101",
                    "level": "note",
                    "message": {"text": "assert used"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/x.py"},
                                "region": {"startLine": 9},
                            }
                        }
                    ],
                },
                {
                    "ruleId": "B602",
                    "level": "error",
                    "message": {"text": "suppressed"},
                    "suppressions": [{"kind": "inSource"}],
                },
            ],
        }
    ],
}


def sarif_v2():
    """v1 plus a new high finding with a fingerprint and a warning."""
    import copy

    doc = copy.deepcopy(SARIF_V1)
    run = doc["runs"][0]
    run["versionControlProvenance"] = [
        {"repositoryUri": "https://git.example.org/pay", "revisionId": "abc123"}
    ]
    run["results"].append(
        {
            "ruleId": "B307",
            "level": "error",
            "message": {"text": "eval of <script>"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": "app/new.py"}, "region": {"startLine": 12}}}
            ],
            "partialFingerprints": {"primaryLocationLineHash": "abcd:1"},
        }
    )
    run["results"].append({"ruleId": "B110", "level": "warning", "message": {"text": "try/except/pass"}})
    return doc


K6 = b"""{
  "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e", "groups": {}, "checks": {}},
  "metrics": {
    "http_req_duration": {"avg": 12.5, "min": 1.2, "med": 10.1, "max": 80.3, "p(90)": 25.2, "p(95)": 31.456},
    "http_req_failed": {"passes": 3, "fails": 97, "thresholds": {"rate<0.01": true}, "value": 0.03},
    "http_reqs": {"count": 100, "rate": 49.8}
  }
}
"""

JTL = b"""timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,grpThreads,allThreads,Latency
1764540000000,10,home,200,OK,T 1-1,text,true,100,1,1,9
1764540000010,20,home,200,OK,T 1-1,text,true,100,1,1,19
1764540000020,30,home,500,Server Error,T 1-1,text,false,100,1,1,29
1764540000030,40,home,200,OK,T 1-1,text,true,100,1,1,39
"""
