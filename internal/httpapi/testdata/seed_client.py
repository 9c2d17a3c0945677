# A lock-check client written the way the seed integration's Lambda
# (seed 000_d3be96aeb6bbb372.txt) writes getLockStatus: PyJWT HS256 over
# the base64-decoded signing key, iat/exp as floats from utcnow(), and
# requests.post with the x-nl3-authorization-token header.
#
# Usage: seed_client.py API_URI API_PATH APP_URI SIGNING_KEY USERNAME
import base64
import json
import sys
from datetime import datetime

import jwt
import requests


def getLockStatus(token, api_uri, api_path, source_ip, user_agent):
    responseDict = {}
    try:
        headers_dict = {"x-nl3-authorization-token": token}
        data_dict = {
            "userIP": source_ip,
            "userDevice": user_agent,
            "userLocation": "",
            "integrationType": "awsiamuser",
            "integrationData": {},
        }
        response = requests.post("".join([api_uri, api_path]), headers=headers_dict, json=data_dict)
        responseDict = response.json()
    except Exception as e:
        responseDict = {"message": str(e)}
    return responseDict


def main():
    api_uri, api_path, app_uri, signing_key, user_name = sys.argv[1:6]
    claims = {
        "iss": app_uri,
        "iat": (datetime.utcnow().timestamp() + (-1 * 60)),
        "exp": (datetime.utcnow().timestamp() + (5 * 60)),
        "aud": api_uri,
        "sub": user_name,
    }
    decodedDomainToken = base64.b64decode(signing_key)
    token = jwt.encode(payload=claims, key=decodedDomainToken)
    if isinstance(token, bytes):  # PyJWT < 2 returns bytes
        token = token.decode()
    print(json.dumps(getLockStatus(token, api_uri, api_path, "203.0.113.7", "aws-internal/3")))


if __name__ == "__main__":
    main()
